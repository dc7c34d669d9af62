#!/usr/bin/env bash
# other_users_test.sh SIDECAR EXTENSION
# The threat model (README, "Who can touch the cache"), tried by real other
# users that this test creates and removes (it needs root; it says so and
# exits 77, a skip ctest shows, without it):
#   1. a user who may read root's database but not write it plants a forged
#      segment (a copy of a real one, its title changed, mode 0666) under
#      the database's segment name: root's doc_get serves the file's title,
#      docstore_stats names the ignored segment, the sidecar flushes nothing
#      from it;
#   2. the same user pre-creates the name with mode 0600: root's reads,
#      writes and flushes go on, from the database;
#   5. truncating that planted segment under a reading process of root's
#      costs it nothing (it never mapped it); the user cannot truncate root's
#      own segment;
#   a reader who may not write the database makes no segment at all; and
#   two users of one group, DOCSTORE_CACHE_MODE=0660, share one segment.
set -euo pipefail
sidecar="$1" extension="$2"
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: needs root, to create and remove the users it runs as" >&2
  exit 77
fi
probe="dsprobe$$" peer="dspeer$$" group="dsgroup$$"
work="$(mktemp -d)"
chmod 0755 "$work"
# Where the other users can load it from.
cp "$extension.so" "$work/docstore.so"
chmod 0755 "$work/docstore.so"
groupadd "$group"
useradd --no-create-home --shell /usr/sbin/nologin --groups "$group" "$probe"
useradd --no-create-home --shell /usr/sbin/nologin --groups "$group" "$peer"
cleanup() {
  # Not under the sanitizer runtime the ASan tree preloads: pkill hangs there.
  env -u LD_PRELOAD pkill -KILL -u "$probe" 2>/dev/null || true
  env -u LD_PRELOAD pkill -KILL -u "$peer" 2>/dev/null || true
  for db in "$work"/*.db; do
    [ -f "$db" ] || continue
    rm -f /dev/shm/docstore-*-"$(sqlite3 "$db" "SELECT value FROM docstore_meta WHERE key = 'database_id'" 2>/dev/null)"
  done
  userdel "$probe" 2>/dev/null || true
  userdel "$peer" 2>/dev/null || true
  groupdel "$group" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
as() { local user="$1"; shift; runuser -u "$user" -- "$@"; }
# sql DB [sqlite3 arguments...]: the sqlite3 shell with docstore loaded.
sql() { local db="$1"; shift; sqlite3 -batch "$db" ".load $work/docstore" "$@"; }
stat_of() { sql "$1" "SELECT value FROM docstore_stats WHERE name = '$2';"; }

db="$work/root.db"
sql "$db" "SELECT docstore_init();" \
  "INSERT INTO documents(id, title, content) VALUES (1, 'Original Title AAAA', 'root''s document');" >/dev/null
chmod 0644 "$db"
segment="$(stat_of "$db" segment)"
[ -n "$segment" ] || fail "no segment name in docstore_stats"

# A real segment's image, its title forged (same length, so it stays a
# well-formed entry), then the segment gone, as after a reboot.
DOCSTORE_CACHE_MODE=0644 sql "$db" "SELECT doc_get(1);" >/dev/null
[ -f "/dev/shm$segment" ] || fail "root's doc_get made no segment"
/usr/bin/python3 - "/dev/shm$segment" "$work/forged" <<'EOF'
import sys
image = open(sys.argv[1], 'rb').read()
assert image.count(b'Original Title AAAA') == 1, 'the cached title is not in the segment once'
open(sys.argv[2], 'wb').write(image.replace(b'Original Title AAAA', b'FORGED BY PROBE!!!!'))
EOF
chmod 0644 "$work/forged"
rm -f "/dev/shm$segment"

# --- 1. A forged segment is ignored -------------------------------------
plant() {  # plant MODE: the probe user puts the forged image under the name
  as "$probe" /usr/bin/python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
os.fchmod(fd, int(sys.argv[3], 8))
os.write(fd, open(sys.argv[2], "rb").read())' "/dev/shm$segment" "$work/forged" "$1"
}
plant 0666
ls -l "/dev/shm$segment"
got="$(sql "$db" "SELECT json_extract(doc_get(1), '\$.title');" "SELECT json_extract(doc_get(1), '\$.title');")"
[ "$got" = "Original Title AAAA"$'\n'"Original Title AAAA" ] || fail "1: root's doc_get served '$got'"
status="$(stat_of "$db" cache_status)"
grep -q "ignored: the segment belongs to uid [0-9]* ($probe), who may not write the database" <<<"$status" ||
  fail "1: cache_status does not name the ignored segment: $status"
echo "1. forged segment ignored; cache_status: $status"
out="$("$sidecar" --once "$db" 2>&1)" || fail "1: the sidecar exited non-zero: $out"
grep -q "ignored: the segment belongs to" <<<"$out" || fail "1: the sidecar did not say it ignored it: $out"
echo "1. sidecar: $out"

# --- 5. Truncating it under a reader of root's ---------------------------
/usr/bin/python3 - "$work/docstore" "$db" "$work/truncated" <<'EOF' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[2])
db.enable_load_extension(True)
db.load_extension(sys.argv[1])
title = lambda: db.execute("SELECT json_extract(doc_get(1), '$.title')").fetchone()[0]
assert title() == 'Original Title AAAA'
while not os.path.exists(sys.argv[3]):
    time.sleep(0.01)
for _ in range(100):
    assert title() == 'Original Title AAAA'
EOF
reader=$!
sleep 0.5
as "$probe" truncate -s 4096 "/dev/shm$segment"
touch "$work/truncated"
wait "$reader" || fail "5: root's reader died (status $?) when the probe user truncated its planted segment"
echo "5. root's reader unharmed by the truncation of the planted segment"
rm -f "/dev/shm$segment"

# --- 2. A name taken first, owner-only ------------------------------------
plant 0600
sql "$db" "UPDATE documents SET title = 'Updated by root' WHERE id = 1;" || fail "2: root's UPDATE was refused"
got="$(sql "$db" "SELECT json_extract(doc_get(1), '\$.title');" "SELECT doc_touch(1);" "SELECT doc_flush();")"
[ "$got" = "Updated by root"$'\n'"0"$'\n'"0" ] || fail "2: root read or flushed '$got'"
status="$(stat_of "$db" cache_status)"
grep -q "ignored" <<<"$status" || fail "2: cache_status: $status"
echo "2. root reads and writes past a squatted name; cache_status: $status"
rm -f "/dev/shm$segment"

# --- The probe user cannot touch root's own segment ----------------------
DOCSTORE_CACHE_MODE=0666 sql "$db" "SELECT doc_get(1);" >/dev/null
mode="$(stat -c %a "/dev/shm$segment")"
# Read bits alone would only leak: a segment is opened to read and write.
[ "$mode" = 600 ] || fail "root's segment has mode $mode; only those who may write the 0644 database may open it"
if as "$probe" truncate -s 4096 "/dev/shm$segment" 2>/dev/null; then fail "5: the probe user truncated root's segment"; fi
echo "root's segment: mode $mode (DOCSTORE_CACHE_MODE=0666 on a 0644 database); the probe user cannot truncate it"
rm -f "/dev/shm$segment"

# --- A reader who may not write makes no segment ---------------------------
got="$(as "$probe" sqlite3 -batch "$db" ".load $work/docstore" "SELECT json_extract(doc_get(1), '\$.title');" \
  "SELECT value FROM docstore_stats WHERE name = 'cache_status';")"
[ "$(head -1 <<<"$got")" = "Updated by root" ] || fail "the reader read '$got'"
[ ! -e "/dev/shm$segment" ] || fail "a user who may not write the database made its segment"
echo "a read-only user reads uncached and makes no segment: $(tail -1 <<<"$got")"

# --- Two users of one group share one segment ------------------------------
shared="$work/shared"
mkdir "$shared"
chgrp "$group" "$shared"
chmod 2775 "$shared"
as "$probe" sqlite3 -batch "$shared/team.db" ".load $work/docstore" "SELECT docstore_init();" \
  "INSERT INTO documents(id, title) VALUES (7, 'team document');" >/dev/null
chmod 0664 "$shared/team.db"
team_segment="$(as "$probe" env DOCSTORE_CACHE_MODE=0660 sqlite3 -batch "$shared/team.db" ".load $work/docstore" \
  "SELECT doc_get(7) IS NOT NULL;" "SELECT value FROM docstore_stats WHERE name = 'segment';" | tail -1)"
[ "$(stat -c '%a %U %G' "/dev/shm$team_segment")" = "660 $probe $group" ] ||
  fail "group segment: $(stat -c '%a %U %G' "/dev/shm$team_segment")"
got="$(as "$peer" sqlite3 -batch "$shared/team.db" ".load $work/docstore" "SELECT doc_get(7) IS NOT NULL;" \
  "SELECT doc_get(7) IS NOT NULL;" "SELECT value FROM docstore_stats WHERE name IN ('cache_status', 'hits');")"
[ "$got" = "1"$'\n'"1"$'\n'"on"$'\n'"2" ] || fail "the group peer did not share the segment: $got"
# One root makes for that database (a maintenance query) is the owner's.
rm -f "/dev/shm$team_segment"
sql "$shared/team.db" "SELECT doc_get(7);" >/dev/null
[ "$(stat -c '%a %U' "/dev/shm$team_segment")" = "600 $probe" ] ||
  fail "root's segment for $probe's database: $(stat -c '%a %U %G' "/dev/shm$team_segment")"
# --- 2, for a victim who is not root: a squat it cannot even open -------------
peer_db="$shared/peer.db"
as "$peer" sqlite3 -batch "$peer_db" ".load $work/docstore" "SELECT docstore_init();" \
  "INSERT INTO documents(id, title) VALUES (3, 'peer document');" >/dev/null
chmod 0644 "$peer_db"
peer_segment="$(as "$peer" sqlite3 -batch "$peer_db" ".load $work/docstore" \
  "SELECT value FROM docstore_stats WHERE name = 'segment';")"
rm -f "/dev/shm$peer_segment"
as "$probe" /usr/bin/python3 -c 'import os, sys; os.close(os.open(sys.argv[1], os.O_CREAT | os.O_EXCL, 0o600))' \
  "/dev/shm$peer_segment"
got="$(as "$peer" sqlite3 -batch "$peer_db" ".load $work/docstore" "UPDATE documents SET title = 'peer updated' WHERE id = 3;" \
  "SELECT json_extract(doc_get(3), '\$.title');" "SELECT value FROM docstore_stats WHERE name = 'cache_status';")" ||
  fail "2: the peer's statements failed: $got"
[ "$(head -1 <<<"$got")" = "peer updated" ] || fail "2: the peer read '$got'"
grep -q "ignored: the segment belongs to uid [0-9]* ($probe)" <<<"$got" || fail "2: the peer's cache_status: $got"
out="$(as "$peer" "$sidecar" --once "$peer_db" 2>&1)" || fail "2: the peer's sidecar exited non-zero: $out"
echo "2. a non-root owner reads and writes past a name squatted 0600; its sidecar: $out"
rm -f "/dev/shm$peer_segment"

echo "group peers share one segment (660 $probe:$group): two hits for $peer"
echo "PASS"
