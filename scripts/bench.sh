#!/usr/bin/env bash
# Runs one load scenario against a fresh release build of room-chats on this machine.
#
#   scripts/bench.sh steady                 # 2,000 connections, 1,000 rooms, 1 msg / 5 s each
#   scripts/bench.sh saturate               # 500 rooms; ramp until delivery p99 passes 100 ms
#   scripts/bench.sh saturate --webhook     # the same with a webhook receiver: outbox lag
#   scripts/bench.sh hot-rooms              # the same ramp over 100 busy rooms
#   scripts/bench.sh idle --connections 50000
#   scripts/bench.sh storm                  # joins per second with a 50-message history
#   scripts/bench.sh dashboard              # 20 admins on /ws/ follow 1,000 rooms' inboxes
#   scripts/bench.sh uploads                # 50 concurrent 10 MiB uploads during steady traffic
#   scripts/bench.sh search                 # 1,000,000 messages seeded, 20 searches/s during steady
#   scripts/bench.sh export                 # one customer: 100,000 messages, 1 GiB of files; export
#   NODES=2 scripts/bench.sh multi-node     # two nodes sharing Postgres and Redis
#   BACKEND=embedded scripts/bench.sh steady   # the zero-configuration default (SQLite)
#   SERVER_BIN=/tmp/room-chats-old scripts/bench.sh saturate   # compare another build
#   BENCH_SQL=/tmp/patch.sql scripts/bench.sh hot-rooms      # try a schema change first
#
# BACKEND=postgres (default) starts a Postgres cluster of its own for the run, created by
# initdb with its defaults — what a production install has (autovacuum on, fsync and
# synchronous_commit on, shared_buffers 128MB …) — rather than this machine's test-tuned
# server, and removes it afterwards. BENCH_POSTGRES_URL=postgres://user@host:port/db points
# the run at an existing server instead (the run creates and drops a database of its own
# there). The settings in force are printed and saved beside the report. Redis: :6379.
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
pg_data=""
db="room_chats_bench_$$"
admin_url=""
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$pg_data" ]; then
    as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1 || true
  elif [ -n "$admin_url" ]; then
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Postgres refuses to run as root: the cluster belongs to the postgres user then.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A cluster of the run's own with initdb's defaults, on a free port.
start_postgres() {
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -x "$pg_bin/initdb" ] || { echo "no Postgres server binaries under /usr/lib/postgresql" >&2; exit 1; }
  local port dir="$work/postgres"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$dir"
  chmod 755 "$work"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_postgres "$pg_bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 >/dev/null
  pg_data="$dir/data"
  as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -l "$dir/server.log" -w start \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir" >/dev/null
  admin_url="postgres://postgres@127.0.0.1:$port/postgres"
  warm_wal
}

# A server that has been running keeps its used WAL segments and recycles them; a fresh
# cluster has none, so under load it creates and zero-fills a new 16 MB segment every few
# seconds, inside some transaction's COMMIT (measured: ~50 ms commits every 2.5-4 s at
# 6,000-9,000 msg/s, both writer threads at once; gone with the warm-up below).
# Writing ~1 GB of WAL and checkpointing leaves the cluster in the state time would.
warm_wal() {
  local started=$SECONDS
  psql "$admin_url" -qc "CREATE TABLE wal_warmup AS SELECT g, repeat('x', 600) AS filler FROM generate_series(1, 1400000) AS g" \
    -c "DROP TABLE wal_warmup" -c "CHECKPOINT" -c "CHECKPOINT"
  echo "postgres: WAL warmed in $((SECONDS - started)) s ($(as_postgres ls "$pg_data/pg_wal" | grep -c '^0') segments)" >&2
}

secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
common_env=(JWT_SECRET="$secret" RUST_LOG=warn USER_MESSAGES_PER_SEC=100000 USER_MESSAGE_BURST=100000
  WS_MAX_CONNECTIONS_PER_USER=100 DB_POOL_SIZE="${DB_POOL_SIZE:-16}"
  # `saturate --webhook` registers a receiver the load tool runs on 127.0.0.1.
  WEBHOOK_ALLOW_PRIVATE_URLS=true
  # The same budget under its name before 2026-11-30, for SERVER_BIN builds of older commits.
  WS_MESSAGES_PER_SEC=100000 WS_MESSAGE_BURST=100000)
mkdir -p bench-results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="bench-results/$scenario-$backend-$stamp.json"
if [ "$backend" = postgres ]; then
  if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
    admin_url=$BENCH_POSTGRES_URL
  else
    start_postgres
  fi
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  # Flush what earlier runs left dirty, so that their I/O does not land in this run.
  psql "$admin_url" -qc "CHECKPOINT"
  psql "$admin_url" -Atc "SELECT version()" > "${out%.json}-postgres.txt"
  psql "$admin_url" -Atc "SELECT name || ' = ' || setting || coalesce(' ' || unit, '') FROM pg_settings
    WHERE name IN ('autovacuum', 'autovacuum_naptime', 'autovacuum_vacuum_scale_factor', 'fsync',
      'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers', 'max_wal_size',
      'checkpoint_timeout', 'max_connections', 'work_mem')
    ORDER BY name" >> "${out%.json}-postgres.txt"
  echo "postgres settings ($( [ -n "$pg_data" ] && echo "own cluster, initdb defaults" || echo "$admin_url" )):" >&2
  sed 's/^/  /' "${out%.json}-postgres.txt" >&2
  base_url=${admin_url%/*}
  common_env+=(DATABASE_URL="$base_url/$db")
  [ "$nodes" -gt 1 ] && common_env+=(REDIS_URL=redis://127.0.0.1:6379 REDIS_PREFIX="bench-$$:")
fi
# The embedded database and uploaded files (`uploads`) live in the run's own directory.
common_env+=(DATA_DIR="$work/data")
# `export` uploads 1 GiB as one customer: past the default per-user upload rate and daily quota.
[ "$scenario" = export ] && common_env+=(ATTACHMENT_UPLOADS_PER_MINUTE=1000
  ATTACHMENT_DAILY_QUOTA_BYTES=4294967296)

# This machine's disk is ext4 mounted with online `discard`: the blocks of deleted files (the
# last run's data, the WAL warm-up's table) are trimmed at a later journal commit, which an
# fsync may have to wait for. `sync` lets that happen before the measurement, not inside it.
sync

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

# BENCH_SQL=file.sql runs that file against the run's database once the nodes have migrated
# it, before the load: for trying a schema or trigger change on one build before coding it.
if [ -n "${BENCH_SQL:-}" ]; then
  [ "$backend" = postgres ] || { echo "BENCH_SQL needs BACKEND=postgres" >&2; exit 1; }
  psql "$base_url/$db" -v ON_ERROR_STOP=1 -qf "$BENCH_SQL" >&2
  echo "applied $BENCH_SQL" >&2
fi

JWT_SECRET="$secret" "$bench" "${urls[@]}" --pid "${pids[0]}" --out "$out" "$scenario" "$@" >/dev/null
if [ "$backend" = postgres ]; then
  # What the run left in the hot tables: updates that were HOT, dead tuples, vacuums.
  psql "$base_url/$db" -Atc "SELECT relname || ': ' || n_tup_upd || ' updates, ' || n_tup_hot_upd ||
      ' HOT, ' || n_live_tup || ' live, ' || n_dead_tup || ' dead, autovacuums ' || autovacuum_count ||
      ', autoanalyzes ' || autoanalyze_count
    FROM pg_stat_user_tables WHERE relname IN ('chat_rooms', 'room_members', 'messages', 'message_search')
    ORDER BY relname" | tee -a "${out%.json}-postgres.txt" | sed 's/^/  /' >&2
fi
echo "report: $out" >&2
