#!/usr/bin/env bash
# Installs the Debian packages perceptd needs to build, fetch models and run its tests.
# Idempotent: installs only what is missing. Needs root (or sudo) when something is missing.
#   python3 + pip + venv : `perceptd models fetch` (pip download, numpy/onnx conversion)
#   espeak-ng, sox       : spoken test audio
#   pkg-config           : native builds
#   libasound2-dev       : cpal (microphone capture through ALSA)
#   pulseaudio, pulseaudio-utils, libasound2-plugins : a null sink so tests capture from a "mic" without a sound card
#   mosquitto, mosquitto-clients : the MQTT broker the integration tests talk to (and a private one they kill)
#   libclang1-14         : v4l's bindgen (camera capture) at build time
#   flite, festival, festvox-us-slt-hts, alsa-utils : the real-speech corpus (more natural synthetic voices, Debian's recorded samples)
#   dpkg-dev, binutils   : the Debian package (cargo-deb runs dpkg-shlibdeps and strip; scripts/package.sh, tests/package.rs)
# The Rust toolchain (rustc >= 1.91, via rustup) must already be installed.
set -euo pipefail

packages=(python3 python3-pip python3-venv espeak-ng sox pkg-config ca-certificates
  libasound2-dev pulseaudio pulseaudio-utils libasound2-plugins mosquitto mosquitto-clients libclang1-14
  flite festival festvox-us-slt-hts alsa-utils dpkg-dev binutils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3/pip may come from elsewhere (pyenv); accept a working one.
if python3 -m pip --version >/dev/null 2>&1 && python3 -m venv --help >/dev/null 2>&1; then
  missing=("${missing[@]/python3}"); missing=("${missing[@]/python3-pip}"); missing=("${missing[@]/python3-venv}")
fi
read -r -a missing <<<"${missing[*]}"
if ((${#missing[@]})); then
  echo "[setup] installing: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "[setup] error: cargo not found; install Rust >= 1.91 with rustup" >&2; exit 1; }
echo "[setup] ok"
