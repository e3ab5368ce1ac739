//! Onramp: an OpenID Connect provider that moves people from a Temporary
//! Access Pass to a phishing-resistant passkey.

pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod metrics;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod web;
