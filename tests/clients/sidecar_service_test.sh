#!/usr/bin/env bash
# sidecar_service_test.sh SIDECAR EXTENSION UNIT SYSUSERS TMPFILES
# docstore-sidecar@.service as shipped, as far as a machine without systemd
# running as init allows (it needs root, to create and remove users; it says
# so and exits 77, a skip ctest shows, without it):
#   1. `systemd-analyze verify` passes on an instance of the unit;
#   2. its sysusers.d entry makes the user and group it names (created by
#      this test with systemd-sysusers when absent, and removed again), and
#      its tmpfiles.d entry the key directory, 0750 root:docstore;
#   3. its ExecStart, run as that user with the unit's environment and umask,
#      started BEFORE the database exists: it waits, then flushes the
#      accesses of an application user in the docstore group that creates
#      the database (umask 007, DOCSTORE_CACHE_MODE=0660, a setgid group
#      directory, as the unit's comment says);
#   4. a key file root:docstore 0640 is read by the service user, and
#      refused at 0644; SIGTERM: a last flush, exit 0.
set -euo pipefail
sidecar="$1" extension="$2" unit="$3" sysusers="$4" tmpfiles="$5"
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: needs root, to create and remove the users it runs as" >&2
  exit 77
fi
work="$(mktemp -d)"
chmod 0755 "$work"
app="dsapp$$"
service_user_before="$(getent passwd docstore || true)"
sidecar_pid=""
cleanup() {
  [ -n "$sidecar_pid" ] && kill -KILL "$sidecar_pid" 2>/dev/null || true
  env -u LD_PRELOAD pkill -KILL -u "$app" 2>/dev/null || true
  for db in "$work"/srv/*.db; do
    [ -f "$db" ] || continue
    rm -f /dev/shm/docstore-*-"$(sqlite3 "$db" "SELECT value FROM docstore_meta WHERE key = 'database_id'" 2>/dev/null)"-*
  done
  userdel "$app" 2>/dev/null || true
  if [ -z "$service_user_before" ]; then
    userdel docstore 2>/dev/null || true
    groupdel docstore 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/sidecar.err" ] && sed 's/^/  sidecar: /' "$work/sidecar.err" >&2; exit 1; }

# Where the other users can run and load them from.
cp "$sidecar" "$work/docstore-sidecar"
cp "$extension.so" "$work/docstore.so"
chmod 0755 "$work/docstore-sidecar" "$work/docstore.so"

# 1. The unit, its ExecStart pointing at the sidecar under test.
instance="docstore-sidecar@$(systemd-escape --path "$work/srv/docs.db").service"
sed "s|^ExecStart=[^ ]*docstore-sidecar|ExecStart=$work/docstore-sidecar|" "$unit" >"$work/$instance"
systemd-analyze verify "$work/$instance" || fail "systemd-analyze verify $instance"
echo "ok: systemd-analyze verify $instance"

# 2. The service user and the key directory.
systemd-sysusers "$sysusers"
user_line="$(getent passwd docstore)" || fail "systemd-sysusers made no user docstore"
[ "$(echo "$user_line" | cut -d: -f7)" = /usr/sbin/nologin ] || fail "docstore can log in: $user_line"
# (--root: a scratch root, which resolves names in its own /etc)
mkdir -p "$work/root/etc"
cp /etc/passwd /etc/group "$work/root/etc/"
systemd-tmpfiles --create --root="$work/root" "$tmpfiles"
[ "$(stat -c '%a %U %G' "$work/root/etc/docstore")" = "750 root docstore" ] ||
  fail "key directory: $(stat -c '%a %U %G' "$work/root/etc/docstore")"
echo "ok: sysusers.d and tmpfiles.d entries"
unit_user="$(sed -n 's/^User=//p' "$unit")" unit_group="$(sed -n 's/^Group=//p' "$unit")"
[ "$unit_user:$unit_group" = docstore:docstore ] || fail "the unit runs as $unit_user:$unit_group"

# 3. The application's user, in the group; the database's directory the
# group's, setgid.
useradd --no-create-home --shell /usr/sbin/nologin --groups docstore "$app"
install -d -o "$app" -g docstore -m 2770 "$work/srv"
db="$work/srv/docs.db"
# The unit's command line, environment and umask, as systemd would run them.
exec_start="$(sed -n 's/^ExecStart=//p' "$work/$instance" | sed "s|%f|$db|")"
mapfile -t unit_environment < <(sed -n 's/^Environment=//p' "$unit")
unit_umask="$(sed -n 's/^UMask=//p' "$unit")"
# shellcheck disable=SC2086 # the command line is split as systemd splits it
# (setpriv execs in place, as systemd does: SIGTERM reaches the sidecar)
setpriv --reuid docstore --regid docstore --init-groups -- \
  sh -c "umask $unit_umask; exec env ${unit_environment[*]} $exec_start --interval-ms 50" \
  2>"$work/sidecar.err" &
sidecar_pid=$!
for _ in $(seq 300); do grep -q "does not exist yet" "$work/sidecar.err" && break; sleep 0.1; done
grep -q "does not exist yet; looking again" "$work/sidecar.err" || fail "the sidecar did not say it waits"
kill -0 "$sidecar_pid" || fail "the sidecar exited before the database existed"
echo "ok: started before the database, the sidecar waits"
# SQLite creates a database 0644 less the umask: the application makes it
# 0660 first (an empty file is an empty database); its journal, WAL and -shm
# take the database's mode.
install -m 0660 -o "$app" -g docstore /dev/null "$db"
as_app() { runuser -u "$app" -- sh -c "umask 007; DOCSTORE_CACHE_MODE=0660 sqlite3 -batch '$db' '.load $work/docstore' \"\$@\"" sh "$@"; }
as_app "SELECT docstore_init();" "INSERT INTO documents(id, title, content) VALUES (1, 'service', 'test');" >/dev/null
as_app "SELECT doc_get(1) IS NOT NULL, doc_get(1) IS NOT NULL, doc_touch(1);" >/dev/null
count=""
for _ in $(seq 300); do
  count="$(sqlite3 "$db" "SELECT access_count FROM document_access WHERE doc_id = 1" 2>/dev/null || true)"
  [ "$count" = 3 ] && break
  sleep 0.1
done
[ "$count" = 3 ] || fail "the service user flushed '$count' accesses of the application's 3"
echo "ok: the service user flushed the application's accesses from its segment"
kill -TERM "$sidecar_pid"
wait "$sidecar_pid" || fail "SIGTERM: the sidecar exited $?"
sidecar_pid=""
echo "ok: SIGTERM: exit 0"
# The drop-in's ExecStopPost (as root): the segment goes unless in use.
segment="$(as_app "SELECT value FROM docstore_stats WHERE name = 'segment';")"
[ -f "/dev/shm$segment" ] || fail "no segment $segment"
as_app "SELECT doc_get(1) IS NOT NULL; SELECT 1 FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) SELECT count(*) FROM n);" >/dev/null &
holder=$!
for _ in $(seq 300); do
  reader="$(env -u LD_PRELOAD pgrep -u "$app" -x sqlite3 || true)"
  [ -n "$reader" ] && grep -qs -- "$segment" "/proc/$reader/maps" && break
  sleep 0.1
done
out="$("$work/docstore-sidecar" --remove-segment "$db")"
echo "$out" | grep -q "^kept /dev/shm$segment: a process uses it" || fail "--remove-segment with a reader attached: $out"
env -u LD_PRELOAD pkill -KILL -u "$app" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
out="$("$work/docstore-sidecar" --remove-segment "$db")"
[ "$out" = "removed /dev/shm$segment" ] || fail "--remove-segment: $out"
[ ! -e "/dev/shm$segment" ] || fail "the segment is still there"
echo "ok: ExecStopPost=+docstore-sidecar --remove-segment: kept while in use, then removed"

# 4. A key file root:docstore 0640 (the usual Debian practice) is the
# service's to read; 0644 is refused.
keyed="$work/srv/keyed.db"
cp "${extension}_sqlcipher.so" "$work/docstore_sqlcipher.so"
chmod 0755 "$work/docstore_sqlcipher.so"
install -m 0660 -o "$app" -g docstore /dev/null "$keyed"
runuser -u "$app" -- sh -c "umask 007; printf '%s\n' \"PRAGMA key = 'service key';\" '.load $work/docstore_sqlcipher' \
  'SELECT docstore_init();' \"INSERT INTO documents(id, title, content) VALUES (1, 'k', 'k');\" 'SELECT doc_touch(1);' |
  DOCSTORE_CACHE_MODE=0660 sqlcipher -batch '$keyed'" >/dev/null
key="$work/root/etc/docstore/keyed.key"
echo "service key" >"$key"
chown root:docstore "$key"
chmod 0640 "$key"
runuser -u docstore -g docstore -- "$work/docstore-sidecar" --once --key-file "$key" --cipher-compatibility 3 "$keyed" ||
  fail "the service user could not use a root:docstore 0640 key file"
[ "$(printf '%s\n' "PRAGMA key = 'service key';" 'SELECT access_count FROM document_access WHERE doc_id = 1;' |
  sqlcipher -batch "$keyed" | grep -vx ok)" = 1 ] || fail "the keyed database's access was not flushed"
echo "ok: a key file root:docstore 0640"
chmod 0644 "$key"
if out="$(runuser -u docstore -g docstore -- "$work/docstore-sidecar" --once --key-file "$key" \
  --cipher-compatibility 3 "$keyed" 2>&1)"; then
  fail "a key file everyone can read was used"
fi
echo "$out" | grep -q "can be read by others (mode 644)" || fail "0644 key file: $out"
echo "ok: a key file everyone can read is refused: $out"
