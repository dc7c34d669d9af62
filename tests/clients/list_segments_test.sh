#!/usr/bin/env bash
# list_segments_test.sh SIDECAR EXTENSION
# docstore-sidecar --list-segments and --remove-orphans, limited with --under
# to this test's databases (other segments on the host are not this test's to
# remove): a database in use, one in use whose file was deleted, one deleted,
# one whose path now names another file, one unused. --remove-orphans removes
# the deleted and the replaced ones' segments and keeps the others, saying
# why.
set -euo pipefail
sidecar="$1" extension="$2"
work="$(mktemp -d)"
work="$(cd "$work" && pwd -P)"
holders=()
segments=()
cleanup() {
  for fd in "${holders[@]}"; do eval "exec $fd>&-" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for segment in "${segments[@]}"; do rm -f "/dev/shm$segment"; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
sql() { local db="$1"; shift; sqlite3 -batch "$work/$db" ".load $extension" "$@"; }

# A database with a cached document; prints its segment's name.
make_database() {
  sql "$1" "SELECT docstore_init();" "INSERT INTO documents(id, title) VALUES (1, 'one');" "SELECT doc_get(1);" >/dev/null
  sql "$1" "SELECT value FROM docstore_stats WHERE name = 'segment';"
}
# Keeps a sqlite3 process attached to the database's segment $3 (fd $2
# feeds it; closing it ends the process); its pid in $held.
hold() {
  mkfifo "$work/$1.fifo"
  sqlite3 -batch "$work/$1" <"$work/$1.fifo" >/dev/null &
  eval "exec $2>\"$work/$1.fifo\""
  holders+=("$2")
  echo ".load $extension" >&"$2"
  echo "SELECT doc_get(1);" >&"$2"
  local segment="$3"
  for _ in $(seq 300); do
    grep -qs "/dev/shm$segment" /proc/$!/maps && { held=$!; return; }
    sleep 0.1
  done
  fail "the holder of $1 never mapped its segment"
}

live="$(make_database live.db)"; segments+=("$live")
attached="$(make_database attached.db)"; segments+=("$attached")
deleted="$(make_database deleted.db)"; segments+=("$deleted")
replaced="$(make_database replaced.db)"; segments+=("$replaced")
unused="$(make_database unused.db)"; segments+=("$unused")
hold live.db 7 "$live"; live_pid=$held
hold attached.db 8 "$attached"; attached_pid=$held
rm -f "$work"/attached.db* "$work"/deleted.db*
cp "$work/unused.db" "$work/replaced.db.new" && mv "$work/replaced.db.new" "$work/replaced.db"

# The block of one segment in a listing.
block() { awk -v name="/dev/shm$2" '$0 == name {on = 1; print; next} /^[^ ]/ {on = 0} on' <<<"$1"; }
expect() { grep -qF -- "$3" <<<"$(block "$1" "$2")" || fail "$2: no '$3' in: $(block "$1" "$2")"; }

listing="$("$sidecar" --list-segments --under "$work")"
echo "$listing"
expect "$listing" "$live" "database:   $work/live.db (exists, the same file)"
expect "$listing" "$live" "1 entries"
expect "$listing" "$live" "attached:   pid $live_pid (sqlite3)"
expect "$listing" "$live" "orphan:     no"
expect "$listing" "$attached" "database:   $work/attached.db (gone)"
expect "$listing" "$attached" "attached:   pid $attached_pid (sqlite3)"
expect "$listing" "$attached" "orphan:     yes"
expect "$listing" "$deleted" "(gone)"
expect "$listing" "$deleted" "attached:   none"
expect "$listing" "$replaced" "$work/replaced.db (another file now"
expect "$listing" "$replaced" "orphan:     yes"
expect "$listing" "$unused" "orphan:     no"
grep -q "^5 segments, 3 orphaned$" <<<"$listing" || fail "wrong totals: $listing"
for segment in "${segments[@]}"; do [ -e "/dev/shm$segment" ] || fail "listing removed $segment"; done

removal="$("$sidecar" --list-segments --remove-orphans --under "$work")"
echo "$removal"
expect "$removal" "$attached" "kept:       in use (pid $attached_pid (sqlite3))"
expect "$removal" "$deleted" "removed:    its database is gone and no process has it open or mapped"
expect "$removal" "$replaced" "removed:    its path names another file now and no process has it open or mapped"
expect "$removal" "$live" "kept:       its database exists"
expect "$removal" "$unused" "kept:       its database exists"
grep -q "^5 segments, 3 orphaned; removed 2 " <<<"$removal" || fail "wrong totals: $removal"
[ ! -e "/dev/shm$deleted" ] && [ ! -e "/dev/shm$replaced" ] || fail "an orphan stayed"
for segment in "$live" "$attached" "$unused"; do [ -e "/dev/shm$segment" ] || fail "removed $segment"; done
# The one kept for being in use goes once its last user is gone.
exec 8>&-
wait "$attached_pid" || true
again="$("$sidecar" --list-segments --remove-orphans --under "$work")"
expect "$again" "$attached" "removed:    its database is gone"
if "$sidecar" --remove-orphans 2>/dev/null; then fail "--remove-orphans alone was accepted"; fi
echo PASS
