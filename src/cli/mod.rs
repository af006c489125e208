//! Subcommand implementations.

pub mod cluster;
