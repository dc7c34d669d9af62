#!/usr/bin/env bash
# sqlcipher3_segment_test.sh EXTENSION
# The sqlcipher shell (SQLCipher 3.4.1) on a keyed database: documents read
# through the shared cache by two processes, and not one byte of the marker
# they carry in the segment under /dev/shm. The same on a plain database finds
# the marker there (so the search can see it).
set -euo pipefail
extension="$1"
work="$(mktemp -d)"
segments=()
cleanup() {
  for s in "${segments[@]}"; do rm -f "/dev/shm$s"; done
  rm -rf "$work"
}
trap cleanup EXIT
marker="sqlcipher3-marker-$$"

# run DB KEY SQL: the sqlcipher shell with docstore_sqlcipher loaded.
run() {
  local keyline=""
  [ -n "$2" ] && keyline="PRAGMA key = '$2';"
  printf '%s\n.load %s\n%s\n' "$keyline" "$extension" "$3" | sqlcipher -batch "$1"
}

for kind in keyed plain; do
  key=""
  [ "$kind" = keyed ] && key="segment test key"
  db="$work/$kind.db"
  run "$db" "$key" "SELECT docstore_init();
INSERT INTO documents(id, title, content) VALUES (1, 'title $marker', 'content $marker');
SELECT doc_get(1) IS NOT NULL;" >/dev/null
  # A second process: served from the cache the first one filled.
  out="$(run "$db" "$key" "SELECT doc_get(1) LIKE '%$marker%';
SELECT value FROM docstore_stats WHERE name = 'hits';
SELECT value FROM docstore_stats WHERE name = 'segment';
SELECT value FROM docstore_stats WHERE name = 'cache_status';")"
  mapfile -t lines <<<"$out"
  segment="${lines[2]}"
  segments+=("$segment")
  [ "${lines[0]}" = 1 ] || { echo "FAIL: $kind: doc_get lost the document: $out" >&2; exit 1; }
  [ "${lines[1]}" -ge 1 ] || { echo "FAIL: $kind: the second process had no cache hit: $out" >&2; exit 1; }
  if grep -qa "$marker" "/dev/shm$segment"; then found=yes; else found=no; fi
  if [ "$kind" = keyed ]; then
    [ "${lines[3]}" = "on (entries sealed with AES-256-GCM)" ] || { echo "FAIL: keyed: ${lines[3]}" >&2; exit 1; }
    [ "$found" = no ] || { echo "FAIL: keyed: the marker is in /dev/shm$segment" >&2; exit 1; }
  else
    [ "$found" = yes ] || { echo "FAIL: plain: the marker is not in /dev/shm$segment" >&2; exit 1; }
  fi
  echo "$kind: second process hit the cache; marker in the segment: $found"
done
