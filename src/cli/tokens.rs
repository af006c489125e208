//! `factory tokens add|list|revoke`: bearer tokens for the coordinator's HTTP API.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use coordinator::tokens::{Scope, TokenStore};

/// Environment variable naming the coordinator's state folder when `--state` is not given.
const STATE_ENV: &str = "FACTORY_STATE_DIR";
/// State folder used when neither `--state` nor the environment names one.
const DEFAULT_STATE: &str = "factory-state";

/// Bearer tokens for the HTTP API.
#[derive(Debug, Args)]
pub struct TokensArgs {
    /// What to do with tokens.
    #[command(subcommand)]
    pub command: TokensCommand,
}

/// Token subcommands.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Issue a token and print it once; only its SHA-256 is stored.
    Add {
        /// Who holds it (unique; shown in approvals and logs).
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: submit, read, approve.
        #[arg(long)]
        scopes: String,
        /// The coordinator's state folder (default: $FACTORY_STATE_DIR, else ./factory-state).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// List tokens: name, scopes and creation time (never the tokens themselves).
    List {
        /// The coordinator's state folder.
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Revoke a token; it stops working at the next request.
    Revoke {
        /// The token's name.
        #[arg(long)]
        name: String,
        /// The coordinator's state folder.
        #[arg(long)]
        state: Option<PathBuf>,
    },
}

fn store(state: Option<PathBuf>) -> TokenStore {
    let dir = state
        .or_else(|| std::env::var_os(STATE_ENV).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE));
    TokenStore::new(&dir)
}

/// Run one of these subcommands.
pub fn run(args: TokensArgs) -> anyhow::Result<()> {
    match args.command {
        TokensCommand::Add {
            name,
            scopes,
            state,
        } => {
            let token = store(state).add(&name, Scope::parse_list(&scopes)?)?;
            eprintln!("token `{name}` created; it is shown once, store it now:");
            println!("{token}");
        }
        TokensCommand::List { state } => {
            let file = store(state).load()?;
            println!("{:<24} {:<22} CREATED_UNIX_MS", "NAME", "SCOPES");
            for t in file.tokens {
                let scopes: Vec<&str> = t.scopes.iter().map(|s| s.as_str()).collect();
                println!(
                    "{:<24} {:<22} {}",
                    t.name,
                    scopes.join(","),
                    t.created_unix_ms
                );
            }
        }
        TokensCommand::Revoke { name, state } => {
            store(state).revoke(&name)?;
            eprintln!("token `{name}` revoked");
        }
    }
    Ok(())
}
