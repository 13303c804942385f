#!/usr/bin/env bash
# Runs one load scenario against a fresh release build of room-chats on this machine.
#
#   scripts/bench.sh steady                 # 2,000 connections, 1,000 rooms, 1 msg / 5 s each
#   scripts/bench.sh saturate               # ramp until delivery p99 passes 100 ms
#   scripts/bench.sh idle --connections 50000
#   scripts/bench.sh storm                  # joins per second with a 50-message history
#   NODES=2 scripts/bench.sh multi-node     # two nodes sharing Postgres and Redis
#   BACKEND=embedded scripts/bench.sh steady   # the zero-configuration default (SQLite)
#   SERVER_BIN=/tmp/room-chats-old scripts/bench.sh saturate   # compare another build
#
# BACKEND=postgres (default) uses a fresh database on 127.0.0.1:5432 and Redis on :6379.
# Extra arguments go to the scenario (see `room-chats-bench <scenario> --help`). The JSON
# report lands in bench-results/<scenario>-<backend>-<time>.json, the summary on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

scenario=${1:?usage: scripts/bench.sh SCENARIO [ARGS...]}
shift
backend=${BACKEND:-postgres}
nodes=${NODES:-1}
[ "$scenario" = multi-node ] && [ "$nodes" -lt 2 ] && nodes=2

# Many sockets on both sides: raise the descriptor limit as far as allowed.
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cargo build --release --locked -p room-chats -p room-chats-bench
target=${CARGO_TARGET_DIR:-target}
# SERVER_BIN runs another build of the service (say, a copy of the previous commit's) against
# the same load tool, for before/after comparisons on one machine.
bin="${SERVER_BIN:-$target/release/room-chats}"
bench="$target/release/room-chats-bench"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$backend" = postgres ]; then
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
common_env=(JWT_SECRET="$secret" RUST_LOG=warn USER_MESSAGES_PER_SEC=100000 USER_MESSAGE_BURST=100000
  WS_MAX_CONNECTIONS_PER_USER=100 DB_POOL_SIZE="${DB_POOL_SIZE:-16}"
  # The same budget under its name before 2026-11-30, for SERVER_BIN builds of older commits.
  WS_MESSAGES_PER_SEC=100000 WS_MESSAGE_BURST=100000)
db="room_chats_bench_$$"
if [ "$backend" = postgres ]; then
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  # Flush what earlier runs left dirty (a dropped bench database forces an immediate
  # checkpoint), so that their I/O does not land in this run's measurement.
  psql -h 127.0.0.1 -U postgres -qc "CHECKPOINT"
  common_env+=(DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db")
  [ "$nodes" -gt 1 ] && common_env+=(REDIS_URL=redis://127.0.0.1:6379 REDIS_PREFIX="bench-$$:")
else
  common_env+=(DATA_DIR="$work/data")
fi

urls=()
for n in $(seq 1 "$nodes"); do
  port=$((18900 + n))
  env "${common_env[@]}" BIND="127.0.0.1:$port" "$bin" serve 2>"${NODE_LOG_DIR:-$work}/node-$n.log" &
  pids+=("$!")
  urls+=(--url "http://127.0.0.1:$port")
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
done

mkdir -p bench-results
out="bench-results/$scenario-$backend-$(date -u +%Y%m%dT%H%M%SZ).json"
JWT_SECRET="$secret" "$bench" "${urls[@]}" --pid "${pids[0]}" --out "$out" "$scenario" "$@" >/dev/null
echo "report: $out" >&2
