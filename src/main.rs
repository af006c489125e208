//! `factory`: the command-line entry point.
fn main() {}
