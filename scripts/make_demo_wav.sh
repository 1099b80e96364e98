#!/usr/bin/env bash
# make_demo_wav.sh — regenerate configs/demo-speech.wav, the clip the demo loops when no
# microphone works: two espeak-ng sentences with 1.5 s of silence after each, 16 kHz mono 16-bit.
# Needs espeak-ng and sox. The committed file was made with exactly this script.
set -euo pipefail
out="$(cd "$(dirname "$0")/.." && pwd)/configs/demo-speech.wav"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en-us -s 150 -w "$tmp/a.wav" "Hello from perceptd. This is the demo clip, playing in a loop."
espeak-ng -v en-us -s 150 -w "$tmp/b.wav" "Plug in a microphone, and I will transcribe what you say."
for f in a b; do
  sox "$tmp/$f.wav" -r 16000 -c 1 -b 16 "$tmp/${f}16.wav" pad 0 1.5
done
sox "$tmp/a16.wav" "$tmp/b16.wav" -r 16000 -c 1 -b 16 "$out"
echo "wrote $out ($(soxi -D "$out") s)"
