#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests and the integration tests, which
# build real bundles and drive the truman binary. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
