#!/usr/bin/env bash
# Installs cargo-deb, the Debian packager (scripts/package.sh; tests/package.rs), when `cargo deb`
# is missing. Built in cargo's own temporary dir, not the project's target dir (~1-2 min).
set -euo pipefail
version=3.8.0
if cargo deb --version >/dev/null 2>&1; then
  exit 0
fi
echo "[cargo-deb] installing cargo-deb $version"
env -u CARGO_TARGET_DIR cargo install --locked --quiet cargo-deb --version "$version"
