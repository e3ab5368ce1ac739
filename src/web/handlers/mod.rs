pub mod admin_api;
pub mod discovery;
pub mod health;
pub mod token;
