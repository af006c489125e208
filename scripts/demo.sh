#!/usr/bin/env bash
# Runs the factory's main job on its embedded default: an example org, a coordinator and two
# nodes in one process over QUIC on loopback, the deterministic agent. Prints where the bundle is.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo run --release --locked -- demo "$@"
