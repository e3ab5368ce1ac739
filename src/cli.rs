//! Command line: `serve` (default), `check-config`, `recover --upn U`.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "onramp",
    version,
    about = "OpenID Connect provider: Temporary Access Pass to passkey"
)]
pub struct Cli {
    /// TOML configuration file (layered over the built-in defaults).
    #[arg(long, short, global = true, env = "ONRAMP_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Validate the configuration and print it, secrets masked.
    CheckConfig,
    /// Issue a fresh Temporary Access Pass for a user (replaces any other).
    Recover {
        /// The user's principal name, e.g. admin@localhost.
        #[arg(long)]
        upn: String,
    },
    /// Manage the signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Publish new RS256 and ES256 keys now; they sign after
    /// keys.activation_delay_seconds, and the old keys stay published until
    /// the tokens they signed have expired.
    Rotate,
}
