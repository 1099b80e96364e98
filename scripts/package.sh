#!/usr/bin/env bash
# Builds the Debian package dist/perceptd_<version>_<arch>.deb with cargo-deb: the release binary,
# stripped (the release profile keeps line tables: 269 MB unstripped); the unit at
# /usr/lib/systemd/system/perceptd.service; the perceptd user (sysusers.d: groups audio, video,
# render); /etc/perceptd/perceptd.toml (configs/packaged.toml, a conffile); the docs; maintainer
# scripts that create the user and /var/lib/perceptd, enable and start the service. The metadata
# is in daemon/Cargo.toml, [package.metadata.deb]. Install: sudo apt install ./dist/perceptd_….deb
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh                 # build dependencies, dpkg-dev (dpkg-shlibdeps: the Depends line)
scripts/install_cargo_deb.sh
mkdir -p dist
# The same build as `cargo build --release --bin perceptd` in daemon/ (cargo-deb runs it).
cargo deb --locked -p perceptd --strip --output dist/
deb=$(ls -t dist/perceptd_*.deb | head -n 1)
echo "[package] $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb"
dpkg-deb --contents "$deb"
