//! `factory example-org` and `factory sim-agent`.

use std::path::PathBuf;

use actors::example::{ExampleOptions, generate};
use anyhow::Context;
use clap::Subcommand;

/// Subcommands about orgs and the deterministic agent.
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Generate the example org (backend, worker, frontend, infra as bare git repos) in a folder.
    ExampleOrg {
        /// Folder to generate into; it must not hold an org.toml yet.
        #[arg(long)]
        out: PathBuf,
        /// Leave the seed step out of backend's setup (a fresh sandbox then fails to start).
        #[arg(long)]
        missing_seed_step: bool,
    },
    /// Run the deterministic agent in the current directory (the agent process contract:
    /// FACTORY_TASK_FILE, FACTORY_PROMPT_FILE, FACTORY_REPORT_FILE).
    SimAgent,
}

/// Run one of these subcommands.
pub fn run(cmd: OrgCommand) -> anyhow::Result<()> {
    match cmd {
        OrgCommand::ExampleOrg {
            out,
            missing_seed_step,
        } => {
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            // The generator runs git in other folders; a relative path would resolve there.
            let out = std::path::absolute(&out)?;
            let org_toml = generate(&out, &ExampleOptions { missing_seed_step })?;
            println!("{}", org_toml.display());
            Ok(())
        }
        OrgCommand::SimAgent => Ok(actors::simagent::run_from_env()?),
    }
}
