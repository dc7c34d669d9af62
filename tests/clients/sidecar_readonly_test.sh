#!/usr/bin/env bash
# sidecar_readonly_test.sh SIDECAR EXTENSION
# docstore-sidecar on a database it cannot write (here a read-only mount, as
# a replica's may be) says that there is nothing to flush and exits 0; a
# reader there counts no accesses and doc_get works.
set -euo pipefail
sidecar="$1" extension="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sqlite3 "$work/docs.db" ".load $extension" "PRAGMA journal_mode = DELETE;" "SELECT docstore_init();" \
  "INSERT INTO documents(id, title) VALUES (1, 'replicated');" >/dev/null
read_only() {  # runs "$@" with $work mounted read-only (root) or made read-only (anyone else)
  if [ "$(id -u)" = 0 ]; then
    unshare -m sh -c 'mount --bind -o ro "$0" "$0" && exec "$@"' "$work" "$@"
  else
    chmod a-w "$work" "$work/docs.db"
    "$@"
  fi
}
out="$(read_only "$sidecar" --once "$work/docs.db" 2>&1)" || { echo "FAIL: sidecar exited non-zero: $out" >&2; exit 1; }
grep -q "is read-only here" <<<"$out" || { echo "FAIL: the sidecar did not say so: $out" >&2; exit 1; }
got="$(read_only sqlite3 "$work/docs.db" ".load $extension" \
  "SELECT doc_get(1) LIKE '%replicated%', doc_get(1) LIKE '%replicated%';" \
  "SELECT value FROM docstore_stats WHERE name = 'access_counting';" 2>&1)"
segment="$(sqlite3 "$work/docs.db" ".load $extension" "SELECT value FROM docstore_stats WHERE name = 'segment';" 2>/dev/null || true)"
[ -n "$segment" ] && rm -f "/dev/shm$segment"
[ "$(head -1 <<<"$got")" = "1|1" ] || { echo "FAIL: doc_get on the read-only database: $got" >&2; exit 1; }
grep -q "^off: the database is read-only" <<<"$got" || { echo "FAIL: accesses counted read-only: $got" >&2; exit 1; }
echo "PASS: read-only: the sidecar says there is nothing to flush, doc_get serves, no access is counted"
