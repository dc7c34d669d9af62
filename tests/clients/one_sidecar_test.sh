#!/usr/bin/env bash
# one_sidecar_test.sh SIDECAR EXTENSION
# One docstore-sidecar per database: a second one names the first and exits
# 1; --once still flushes beside it; once the first is killed (kill -9), a
# new one takes its place.
set -euo pipefail
sidecar="$1" extension="$2"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  segment="$(sqlite3 "$work/docs.db" ".load $extension" "SELECT value FROM docstore_stats WHERE name = 'segment'" 2>/dev/null || true)"
  [ -z "$segment" ] || rm -f "/dev/shm$segment"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
sql() { sqlite3 -batch "$work/docs.db" ".load $extension" "$@"; }
sql "SELECT docstore_init();" "INSERT INTO documents(id, title) VALUES (1, 'one');" "SELECT doc_get(1);" >/dev/null

# Waits (up to 30 s) until docstore_stats shows sidecar `pid` beating.
wait_for_heartbeat() {
  for _ in $(seq 300); do
    [ "$(sql "SELECT value FROM docstore_stats WHERE name = 'sidecar_pid';")" = "$1" ] && return 0
    sleep 0.1
  done
  fail "sidecar $1 never beat"
}

"$sidecar" "$work/docs.db" &
first=$!
pids+=("$first")
wait_for_heartbeat "$first"

if out="$("$sidecar" "$work/docs.db" 2>&1)"; then fail "a second sidecar ran: $out"; fi
grep -q "another docstore-sidecar (pid $first) already flushes" <<<"$out" || fail "the second did not name the first: $out"
echo "second: $out"

sql "SELECT doc_touch(1);" >/dev/null
"$sidecar" --once "$work/docs.db" || fail "--once beside the running one exited $?"

kill -9 "$first"
wait "$first" 2>/dev/null || true
"$sidecar" "$work/docs.db" &
second=$!
pids+=("$second")
wait_for_heartbeat "$second"
echo "after kill -9 of $first, $second took its place"
echo PASS
