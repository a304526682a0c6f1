#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests, the integration tests (which
# build real bundles and drive the truman binary), and the real clients' scenarios
# (podman, containerd, docker; see scripts/clients.sh). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
bash scripts/clients.sh
