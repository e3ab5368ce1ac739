#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! One integration-test binary: the app is started in-process on port 0,
//! with its own Redis server where a test needs one.

mod account;
mod admin_api;
mod admin_methods;
mod batch;
mod browser;
mod cli;
mod contact_claims;
mod csv_import;
mod discovery;
mod groups;
mod helpers;
mod keys;
mod lifecycle;
mod lockout;
mod newhire;
mod oidc_flow;
mod onboarding;
mod openapi;
mod operations;
mod passkey_finish;
mod portal;
mod redis_outage;
mod redis_round_trips;
mod registration_report;
mod session_safety;
mod store_conformance;
mod token;
mod webhooks;
