#!/usr/bin/env bash
# no_shm_test.sh SIDECAR EXTENSION
# Without a /dev/shm (a container, a tmpfs over /dev), or with one this user
# cannot write, everything works uncached, writes included; docstore_stats
# says why, and the sidecar says what it does. Each case runs in its own
# mount namespace (it needs root; it says so and exits 77, a skip ctest
# shows, without it); the second runs as nobody. And the sidecar on a full
# disk says what is wrong without a misleading hint.
set -euo pipefail
sidecar="$1" extension="$2"
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: needs root, for a mount namespace" >&2
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
cp "$extension.so" "$sidecar" "$work/"
chmod 0755 "$work/docstore.so" "$work/docstore-sidecar"
fail() { echo "FAIL: $*" >&2; exit 1; }

# check: run inside the namespace, as whoever owns $work/db.
cat >"$work/check.sh" <<'EOF'
set -eu
work="$1"
sqlite3 -batch "$work/db/docs.db" ".load $work/docstore" "SELECT docstore_init();" >/dev/null
sqlite3 -batch "$work/db/docs.db" ".load $work/docstore" \
  "INSERT INTO documents(id, title) VALUES (1, 'written without a cache');" \
  "UPDATE documents SET content = 'and updated' WHERE id = 1;" \
  "SELECT json_extract(doc_get(1), '$.title') || ' / ' || json_extract(doc_get(1), '$.content');" \
  "SELECT doc_touch(1);" \
  "SELECT value FROM docstore_stats WHERE name = 'cache_status';"
"$work/docstore-sidecar" --once "$work/db/docs.db" 2>&1
echo "sidecar exit $?"
EOF

expect() {  # expect CASE OUTPUT REASON
  local lines
  mapfile -t lines <<<"$2"
  [ "${lines[0]:-}" = "written without a cache / and updated" ] || fail "$1: read '${lines[0]:-}'"
  [ "${lines[1]:-}" = 0 ] || fail "$1: doc_touch returned '${lines[1]:-}' (0: not counted without a cache)"
  grep -q "^off: .*$3" <<<"${lines[2]:-}" || fail "$1: cache_status '${lines[2]:-}' does not say '$3'"
  grep -q "no segment of .* to flush yet" <<<"$2" || fail "$1: the sidecar did not say what it does: $2"
  [ "${lines[-1]}" = "sidecar exit 0" ] || fail "$1: ${lines[-1]}"
  echo "$1: $(tr '\n' '|' <<<"$2")"
}

# No /dev/shm at all: a fresh tmpfs over /dev, holding only /dev/null.
mkdir "$work/db"
out="$(unshare -m sh -c 'mount -t tmpfs tmpfs /dev && mknod -m 666 /dev/null c 1 3 && exec sh "$0/check.sh" "$0"' "$work")" ||
  fail "no /dev/shm: $out"
expect "no /dev/shm" "$out" "No such file or directory"

# A /dev/shm that nobody may write (root's, mode 0755), used by nobody.
rm -rf "$work/db"
mkdir "$work/db"
chown nobody "$work/db"
out="$(unshare -m sh -c 'mount -t tmpfs -o mode=0755 tmpfs /dev/shm &&
  exec setpriv --reuid=nobody --regid=nogroup --clear-groups sh "$0/check.sh" "$0"' "$work")" ||
  fail "unwritable /dev/shm: $out"
expect "a /dev/shm this user cannot write" "$out" "Permission denied"

# A full disk under a WAL database (its -shm cannot be made): the sidecar says
# so, and does not suggest a key (the database is not encrypted).
rm -rf "$work/db"
mkdir "$work/db"
out="$(unshare -m sh -c 'mount -t tmpfs -o size=1m tmpfs "$0/db" &&
  sqlite3 -batch "$0/db/docs.db" ".load $0/docstore" "PRAGMA journal_mode = WAL;" "SELECT docstore_init();" >/dev/null &&
  { dd if=/dev/zero of="$0/db/fill" bs=4k 2>/dev/null || true; } &&
  "$0/docstore-sidecar" --once "$0/db/docs.db" 2>&1; echo "sidecar exit $?"' "$work")"
grep -q "cannot read .* (disk I/O error)" <<<"$out" || fail "full disk: $out"
if grep -q "key" <<<"$out"; then fail "full disk: a key hint for an I/O error: $out"; fi
grep -q "sidecar exit 1" <<<"$out" || fail "full disk: $out"
echo "full disk: $(tr '\n' '|' <<<"$out")"
echo PASS
