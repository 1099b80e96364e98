#!/usr/bin/env bash
# Soak: `perceptd run` for an hour on a looping speech file plus an images camera, publishing to a
# private Mosquitto that is restarted every few minutes. Samples the daemon's RSS, open descriptors
# and threads every minute (and at t=0), records every message a persistent QoS 1 subscriber gets,
# stops the daemon with SIGTERM and checks that every final it produced arrived.
#
#   scripts/soak.sh [--minutes 60] [--restart-every 5] [--down-secs 3] [--out DIR]
#                   [--perceptd BIN] [--speech WAV] [--images DIR]
#
#   scripts/soak.sh --minutes 3 --restart-every 1        # smoke run of the script itself
#
# Defaults: BIN = $PERCEPTD_BIN, else $CARGO_TARGET_DIR/debug/perceptd (target/ without it);
# models from $PERCEPTD_MODELS (tiny.en, the VAD and efficientnet-lite0: `perceptd models fetch`);
# WAV = the corpus' "oratory" condition (scripts/make_corpus.py: 269 s, 126 phrases with pauses);
# images = the models' reference photo plus three generated PNGs, so each frame differs from the
# last and every one is analysed. OUT (default /var/tmp/soak/run-DATE) gets:
#   samples.csv    minute, elapsed_s, rss_kb, hwm_kb, fds, threads, cpu_s, load1, broker_restarts
#   events.csv     elapsed_s, event (broker_stop / broker_start / daemon_sigterm / daemon_exit)
#   received.txt   subscriber lines: unix_time retained qos topic payload
#   daemon.log     the daemon's stderr (published messages logged: the producer's side)
#   broker.log, soak.toml, fds/MINUTE.txt (ls -l /proc/PID/fd), summary.json, soak.png
# Then scripts/soak_report.py prints the verdicts (RSS flat within +-5 % from minute 5, no fd
# growth, no lost final) and scripts/soak_plot.py draws the PNG (with $SOAK_PYTHON, which needs
# matplotlib; skipped with a note when it is missing).
#
# Broker: its own config on a free 127.0.0.1 port, persistence on (autosave every second, and a
# save on SIGTERM). The subscriber's persistent session (clean session off, QoS 1) and the messages
# queued for it then survive a restart: a final the broker acknowledged while the subscriber was
# still reconnecting is delivered afterwards, so a missing final is the daemon's loss, not the
# broker's forgetting. Restarts are stop (SIGTERM), --down-secs without a broker, start.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

minutes=60 period=5 down_secs=3 out="" bin="${PERCEPTD_BIN:-}" speech="" images=""
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --restart-every) period=$2; shift 2 ;;
    --down-secs) down_secs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --perceptd) bin=$2; shift 2 ;;
    --speech) speech=$2; shift 2 ;;
    --images) images=$2; shift 2 ;;
    -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$minutes" "$period"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "--minutes and --restart-every take whole minutes > 0, got $n" >&2; exit 2; }
done
[ -n "$bin" ] || bin="${CARGO_TARGET_DIR:-$repo/target}/debug/perceptd"
[ -x "$bin" ] || { echo "no perceptd binary at $bin (--perceptd BIN or PERCEPTD_BIN)" >&2; exit 1; }
models="${PERCEPTD_MODELS:?set PERCEPTD_MODELS to the models directory (perceptd models fetch)}"
for m in whisper-tiny.en silero-vad efficientnet-lite0; do
  [ -d "$models/$m" ] || { echo "missing model $models/$m (perceptd models fetch)" >&2; exit 1; }
done
for tool in mosquitto mosquitto_sub stdbuf python3; do
  command -v "$tool" >/dev/null || { echo "$tool not found (apt install mosquitto mosquitto-clients)" >&2; exit 1; }
done
out="${out:-/var/tmp/soak/run-$(date -u +%Y%m%d-%H%M%S)}"
mkdir -p "$out/fds"
out=$(cd "$out" && pwd)

if [ -z "$speech" ]; then
  speech="$out/corpus/oratory.wav"
  [ -f "$speech" ] || python3 "$repo/scripts/make_corpus.py" "$out/corpus" --conditions oratory >/dev/null
fi
if [ -z "$images" ]; then
  images="$out/images"
  mkdir -p "$images"
  cp "$models/clip-assets/franz-kafka.jpg" "$images/1-photo.jpg"
  # Three 320x240 RGB PNGs with the standard library: a gradient, a checkerboard, stripes.
  python3 - "$images" <<'PY'
import struct, sys, zlib
def png(path, pixel):
    w, h = 320, 240
    rows = b"".join(b"\0" + bytes(c for x in range(w) for c in pixel(x, y)) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
png(f"{sys.argv[1]}/2-gradient.png", lambda x, y: (x * 255 // 319, y * 255 // 239, 128))
png(f"{sys.argv[1]}/3-checker.png", lambda x, y: (250, 250, 250) if (x // 40 + y // 40) % 2 else (10, 10, 10))
png(f"{sys.argv[1]}/4-stripes.png", lambda x, y: (200, 30, 30) if (x // 16) % 2 else (30, 30, 200))
PY
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
store="$out/broker-store"
mkdir -p "$store" && chmod 0777 "$store" # mosquitto started as root drops to its own user
cat >"$out/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $store/
autosave_interval 1
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
log_timestamp_format %Y-%m-%dT%H:%M:%S
EOF
cat >"$out/soak.toml" <<EOF
# Written by scripts/soak.sh.
device = "soak"
models_dir = "$models"
state_dir = "$out/state"

[mqtt]
url = "mqtt://127.0.0.1:$port"

[log]
published_messages = true
stats_interval_secs = 60

[speech]
model = "tiny.en"

[[source]]
kind = "file"
name = "speech"
path = "$speech"
realtime = true
loop = true

[vision]
model = "efficientnet-lite0"

[[camera]]
kind = "images"
name = "shelf"
path = "$images"
fps = 0.2
loop = true
EOF
"$bin" config check "$out/soak.toml" >"$out/config-check.txt" 2>&1 ||
  { cat "$out/config-check.txt" >&2; exit 1; }

t0=""
broker_pid="" daemon_pid="" sub_loop_pid="" restarts=0
elapsed() { awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }'; }
event() { echo "$(elapsed),$1" >>"$out/events.csv"; }
broker_start() {
  mosquitto -c "$out/mosquitto.conf" 2>>"$out/broker.log" &
  broker_pid=$!
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "mosquitto did not start on port $port (see $out/broker.log)" >&2
  exit 1
}
broker_stop() {
  kill -TERM "$broker_pid" 2>/dev/null || true
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=""
}
cleanup() {
  touch "$out/stop-sub"
  [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null || true
  [ -f "$out/sub.pid" ] && kill "$(cat "$out/sub.pid")" 2>/dev/null || true
  [ -n "$sub_loop_pid" ] && kill "$sub_loop_pid" 2>/dev/null || true
  [ -n "$broker_pid" ] && kill -TERM "$broker_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "elapsed_s,event" >"$out/events.csv"
echo "minute,elapsed_s,rss_kb,hwm_kb,fds,threads,cpu_s,load1,broker_restarts" >"$out/samples.csv"
t0=$(date +%s.%N)
broker_start
# The subscriber: a persistent QoS 1 session; restarted when it exits (the broker went away
# while it was connecting).
(
  while [ ! -e "$out/stop-sub" ]; do
    stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$port" -c -i soak-sub -q 1 -t 'perceptd/#' \
      -F '%U %r %q %t %p' >>"$out/received.txt" 2>>"$out/sub.log" &
    echo $! >"$out/sub.pid"
    wait $! || true
    sleep 0.2
  done
) &
sub_loop_pid=$!
sleep 1 # the session and its subscription exist before the first final

t0=$(date +%s.%N)
NO_COLOR=1 "$bin" run --config "$out/soak.toml" 2>"$out/daemon.log" >"$out/daemon.stdout" &
daemon_pid=$!
echo "soak: perceptd pid $daemon_pid, broker port $port, $minutes min, broker restart every $period min" \
  "(down ${down_secs}s), out $out"
{
  echo "binary: $bin ($(stat -c '%s bytes, modified %y' "$bin"))"
  echo "started: $(date -u +%FT%TZ), host $(uname -n), $(nproc) cpus"
  echo "speech: $speech"
  echo "images: $images ($(ls "$images" | wc -l) files)"
} >"$out/run-info.txt"

sample() { # MINUTE
  local st=/proc/$daemon_pid/status
  [ -r "$st" ] || return 1
  local rss hwm thr fds cpu
  rss=$(awk '/^VmRSS:/ { print $2 }' "$st")
  hwm=$(awk '/^VmHWM:/ { print $2 }' "$st")
  thr=$(awk '/^Threads:/ { print $2 }' "$st")
  ls -l "/proc/$daemon_pid/fd" >"$out/fds/$1.txt" 2>/dev/null || true
  fds=$(ls "/proc/$daemon_pid/fd" | wc -l)
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$daemon_pid/stat")
  echo "$1,$(elapsed),$rss,$hwm,$fds,$thr,$cpu,$(cut -d' ' -f1 /proc/loadavg),$restarts" >>"$out/samples.csv"
}
sleep_until() { # SECONDS_SINCE_T0
  sleep "$(awk -v t="$1" -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { d = b + t - a; printf "%.3f", (d > 0 ? d : 0) }')"
}
alive() { kill -0 "$daemon_pid" 2>/dev/null; }

status=0
for ((m = 0; m <= minutes; m++)); do
  sleep_until $((m * 60))
  if ! alive || ! sample "$m"; then
    echo "soak: the daemon is gone at minute $m (see $out/daemon.log)" >&2
    event daemon_died
    status=1
    break
  fi
  if ((m > 0 && m < minutes && m % period == 0)); then
    event broker_stop
    broker_stop
    sleep "$down_secs"
    broker_start
    restarts=$((restarts + 1))
    event broker_start
  fi
  if ((m % 5 == 0)); then echo "soak: minute $m: $(tail -n 1 "$out/samples.csv")"; fi
done

if alive; then
  event daemon_sigterm
  kill -TERM "$daemon_pid"
  for _ in $(seq 1200); do alive || break; sleep 0.1; done
  if alive; then
    echo "soak: the daemon did not exit within 120 s of SIGTERM; killing it" >&2
    kill -KILL "$daemon_pid"
    status=1
  fi
  rc=0
  wait "$daemon_pid" || rc=$?
  event "daemon_exit rc=$rc"
  [ "$rc" -eq 0 ] || status=1
fi
daemon_pid=""
sleep 5 # the subscriber drains what the broker still holds for it
touch "$out/stop-sub"
kill "$(cat "$out/sub.pid")" 2>/dev/null || true
wait "$sub_loop_pid" 2>/dev/null || true
sub_loop_pid=""
broker_stop
echo "finished: $(date -u +%FT%TZ), uptime: $(uptime)" >>"$out/run-info.txt"

python3 "$here/soak_report.py" "$out" || status=1
py="${SOAK_PYTHON:-python3}"
if "$py" -c 'import matplotlib' 2>/dev/null; then
  "$py" "$here/soak_plot.py" "$out" "$out/soak.png"
else
  echo "soak: $py has no matplotlib; plot later with SOAK_PYTHON=... scripts/soak_plot.py $out"
fi
exit "$status"
