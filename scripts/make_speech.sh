#!/usr/bin/env bash
# make_speech.sh — synthesise the perceptd speech test corpus with espeak-ng.
#
# Usage:  scripts/make_speech.sh OUTDIR
#
# For line NN (01-based) of tests/speech/sentences.txt it writes OUTDIR/sNN.wav,
# and for tests/speech/bench_11s.txt it writes OUTDIR/bench_11s.wav (~10.9 s).
# Each file is made with exactly:
#
#     espeak-ng -v en-us -s 150 -w OUTDIR/<name>.wav "<text>"
#
# espeak-ng output is deterministic for a given espeak-ng version and voice.
# Files are left as espeak writes them: 22050 Hz, mono, 16-bit PCM WAV. They are
# NOT resampled here; the Rust side resamples to 16 kHz.
#
# Idempotent: files are (re)written in place; running it twice gives the same
# files. Requires espeak-ng (apt install espeak-ng).
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
outdir=$1

if ! command -v espeak-ng >/dev/null 2>&1; then
    echo "error: espeak-ng not found on PATH (install it, e.g. 'apt-get install espeak-ng')" >&2
    exit 1
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
speech_dir="$here/../tests/speech"
sentences="$speech_dir/sentences.txt"
bench="$speech_dir/bench_11s.txt"
for f in "$sentences" "$bench"; do
    [[ -f $f ]] || { echo "error: missing $f" >&2; exit 1; }
done

mkdir -p "$outdir"

say() { # say TEXT OUTFILE
    espeak-ng -v en-us -s 150 -w "$2" "$1"
}

n=0
while IFS= read -r line || [[ -n $line ]]; do
    [[ -z ${line//[[:space:]]/} ]] && continue
    n=$((n + 1))
    say "$line" "$(printf '%s/s%02d.wav' "$outdir" "$n")"
done < "$sentences"

say "$(tr '\n' ' ' < "$bench")" "$outdir/bench_11s.wav"

echo "wrote $n sentence files and bench_11s.wav to $outdir"
