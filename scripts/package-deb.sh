#!/usr/bin/env bash
# scripts/package-deb.sh — builds the Debian package of the flotilla binary already built.
#
# Packs the binary of the dev profile (target/debug/flotilla; PROFILE=NAME for another one
# already built), never building a release. First generates, with that binary, what the package
# carries besides it: bash, zsh and fish completions (`flotilla completion SHELL`) and the man
# pages (`flotilla man DIR`, gzipped), into target/PROFILE-DIR/deb-assets, where the package
# metadata (crates/cli/Cargo.toml, [package.metadata.deb]) finds them. The units, config files
# and maintainer scripts come from packaging/.
#
# Needs cargo-deb (scripts/test.sh installs it). Prints the .deb's path as its last line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PROFILE="${PROFILE:-dev}"
case "$PROFILE" in
    dev) PROFILE_DIR=debug ;;
    *) PROFILE_DIR="$PROFILE" ;;
esac
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
BIN="$TARGET_DIR/$PROFILE_DIR/flotilla"
[ -x "$BIN" ] || { echo "==> ERROR: $BIN is not built: cargo build -p flotilla first" >&2; exit 1; }

ASSETS="$TARGET_DIR/$PROFILE_DIR/deb-assets"
rm -rf -- "$ASSETS"
mkdir -p "$ASSETS/man"
"$BIN" completion bash >"$ASSETS/flotilla.bash"
"$BIN" completion zsh >"$ASSETS/_flotilla"
"$BIN" completion fish >"$ASSETS/flotilla.fish"
"$BIN" man "$ASSETS/man" >/dev/null
gzip -9n "$ASSETS"/man/*.1

OUT="$TARGET_DIR/debian"
mkdir -p "$OUT"
cargo deb -p flotilla --no-build --fast --profile "$PROFILE" --output "$OUT" >&2
ls -t "$OUT"/flotilla_*.deb | head -n1
