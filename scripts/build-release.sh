#!/usr/bin/env bash
# Builds the release truman, target/release/truman, as a static PIE: glibc,
# libseccomp, libelf and zlib linked in. A static truman starts without the dynamic
# loader's work (four libraries mapped, every symbol bound at start-up), which every
# command pays once and create, run and exec twice: paired against the dynamic build
# on 2026-12-07, --version 0.73x, state 0.80x, run 0.89x, peak RSS 2.8 MB vs 3.7.
# A plain `cargo build --release` still makes a working, dynamically linked truman.
#
# glibc's user lookups (the owners `list` prints) load the host's NSS modules, which
# must come from the glibc truman was linked with: build it where it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
archive=$(gcc -print-file-name=libseccomp.a)
if [ ! -f "$archive" ]; then
    echo "build-release: libseccomp.a not found (install libseccomp-dev)" >&2
    exit 1
fi
export LIBSECCOMP_LINK_TYPE=static
LIBSECCOMP_LIB_PATH=$(dirname "$(realpath "$archive")")
export LIBSECCOMP_LIB_PATH
# crt-static goes to the binary's crate alone, the one that links: with it in
# RUSTFLAGS, the proc-macros built for the host (shared objects) could not be.
flags=(-C target-feature=+crt-static)
# Relative relocations packed (DT_RELR, glibc >= 2.36): 280 KB of relocation table,
# read at every start, becomes 4 KB.
flags+=(-C link-arg=-Wl,-z,pack-relative-relocs)
# The functions of the common paths side by side (scripts/link_order.py says why),
# through runtime/build.rs so that a new order links again.
order=$PWD/runtime/link-order.txt
export TRUMAN_LINK_ORDER=$order
cargo rustc --release --quiet -p truman --bin truman -- "${flags[@]}"
# A symbol's name changes with its crate's version and the compiler's: say when the
# order has gone stale enough to matter.
listed=$(sort -u "$order" | wc -l)
gone=$(comm -23 <(sort -u "$order") <(nm --defined-only "${CARGO_TARGET_DIR:-target}/release/truman" | awk '{print $3}' | sort -u) | wc -l)
if [ $((gone * 10)) -gt "$listed" ]; then
    echo "build-release: $gone of the $listed functions in runtime/link-order.txt are gone: run scripts/link_order.py" >&2
fi
