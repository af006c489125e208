//! `factory certs`: create the cluster CA and issue node certificates.

use actors::net::{Validity, certs};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Certificate subcommands.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Create a new cluster CA (ca.pem, ca.key) in DIR; refuses to overwrite an existing one.
    Init {
        /// Certificate directory.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Issue NAME.pem and NAME.key in DIR, signed by the CA there.
    Issue(IssueArgs),
}

/// Arguments of `certs issue`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Certificate directory holding the CA.
    #[arg(long)]
    dir: PathBuf,
    /// Node name (a DNS name); it becomes the node's identity.
    #[arg(long)]
    name: String,
    /// Days of validity.
    #[arg(long, default_value_t = 365)]
    days: u32,
}

/// Runs a certificate subcommand.
pub fn run(cmd: CertsCommand) -> anyhow::Result<()> {
    match cmd {
        CertsCommand::Init { dir } => {
            certs::init_ca(&dir)?;
            println!("created cluster ca in {}", dir.display());
        }
        CertsCommand::Issue(args) => {
            let node = certs::issue(&args.dir, &args.name, Validity::days(args.days))?;
            println!(
                "issued {} for {} days: {}",
                node,
                args.days,
                certs::cert_path(&args.dir, &args.name).display()
            );
        }
    }
    Ok(())
}
