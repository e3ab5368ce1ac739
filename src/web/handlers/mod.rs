pub mod account;
pub mod admin_api;
pub mod assets;
pub mod discovery;
pub mod health;
pub mod signin;
pub mod token;
pub mod userinfo;
