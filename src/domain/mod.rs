//! Pure types and rules. No I/O, no HTTP.

pub mod attestation;
pub mod audit;
pub mod authenticator;
pub mod authz;
pub mod claims;
pub mod client;
pub mod credential;
pub mod directory_audit;
pub mod error;
pub mod group;
pub mod lockout;
pub mod oauth;
pub mod odata;
pub mod onboarding;
pub mod permission;
pub mod policy;
pub mod protocol;
pub mod registration;
pub mod roles;
pub mod signing_key;
pub mod tap;
pub mod user;
pub mod webhook;

pub use error::DomainError;
