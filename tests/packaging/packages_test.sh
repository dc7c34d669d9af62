#!/usr/bin/env bash
# The installed and packaged docstore, used only through installed paths
# (scripts/test runs it after scripts/package):
#   1. cmake --install of build-package/ into a scratch prefix: the files where
#      GNUInstallDirs puts them, `.load docstore` by name, and a C++ program
#      built against shmcache through find_package(shmcache) and through
#      pkg-config;
#   2. the .deb: lintian reports no error; dpkg -i on this machine (removed
#      again with dpkg -r), then the sqlite3 and sqlcipher shells load the
#      extensions by name and docstore-sidecar flushes a database;
#   3. the npm tarball installed into a scratch project, loaded into
#      better-sqlite3 and @journeyapps/sqlcipher (and node:sqlite where Node
#      has it) with require('docstore').load(db);
#   4. the wheel installed into a venv of /usr/bin/python3, loaded with
#      docstore.load(conn).
# Exits non-zero at the first failure, saying which.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/build"
tree="$root/build-package"
version="$(head -n 1 "$root/VERSION")"
arch_dir="lib/$(gcc -print-multiarch)"
scratch="$(mktemp -d)"
installed_deb=0
# The .deb's postinst makes the service user and /etc/docstore; the test
# removes them again only if they were not there before it.
service_user_before="$(getent passwd docstore || true)"
cleanup() {
  [ "$installed_deb" = 1 ] && dpkg -r docstore >/dev/null 2>&1 && dpkg -P docstore >/dev/null 2>&1
  if [ -z "$service_user_before" ] && getent passwd docstore >/dev/null; then
    userdel docstore 2>/dev/null || true
    groupdel docstore 2>/dev/null || true
    rmdir /etc/docstore 2>/dev/null || true
  fi
  # The segments of this test's databases.
  for db in "$scratch"/*.db; do
    [ -f "$db" ] || continue
    ino="$(stat -c %i "$db")"
    rm -f /dev/shm/docstore-*-"$(printf %x "$ino")"-* 2>/dev/null || true
  done
  rm -rf "$scratch"
}
trap cleanup EXIT
fail() { echo "packages_test: FAILED: $*" >&2; exit 1; }
expect() {  # expect WHAT EXPECTED ACTUAL
  [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
  echo "ok: $1: $3"
}
# SQL that uses the extension for real: schema, a write, a read, a search.
roundtrip_sql="SELECT docstore_init() > 0;
INSERT INTO documents(id, title, content) VALUES (1, 'Installed', 'from a package');
SELECT doc_get(1) LIKE '%\"title\":\"Installed\"%';
SELECT count(*) FROM doc_search('package');"

echo "== 1. cmake --install into $scratch/prefix"
prefix="$scratch/prefix"
cmake --install "$tree" --prefix "$prefix" >/dev/null
for f in "$arch_dir/docstore.so" "$arch_dir/docstore_sqlcipher.so" bin/docstore-sidecar \
         lib/systemd/system/docstore-sidecar@.service share/doc/docstore/README.md share/doc/docstore/CHANGELOG.md \
         share/doc/docstore/LICENSE share/doc/docstore/DESIGN.md "$arch_dir/libshmcache.a" include/shmcache/shmcache.h \
         "$arch_dir/cmake/shmcache/shmcacheConfig.cmake" "$arch_dir/pkgconfig/shmcache.pc"; do
  [ -f "$prefix/$f" ] || fail "cmake --install did not install $f"
done
echo "ok: every file installed under $prefix"
grep -q "ExecStart=$prefix/bin/docstore-sidecar\|ExecStart=/usr/bin/docstore-sidecar" "$prefix/lib/systemd/system/docstore-sidecar@.service" ||
  fail "the systemd unit does not name the installed sidecar"
# SQLite looks for `.load docstore` where dlopen looks: the library path.
expect "sqlite3 .load docstore (by name, LD_LIBRARY_PATH=$prefix/$arch_dir)" "$version" \
  "$(LD_LIBRARY_PATH="$prefix/$arch_dir" sqlite3 :memory: '.load docstore' 'SELECT docstore_version()')"
expect "installed docstore-sidecar --version" "docstore-sidecar $version" \
  "$("$prefix/bin/docstore-sidecar" --version | cut -d' ' -f1-2)"
mkdir -p "$scratch/consumer"
cat >"$scratch/consumer/main.cc" <<'CC'
// A C++ user of shmcache alone: put a value, read it back.
#include <cstdio>
#include <string>
#include "shmcache/shmcache.h"
int main() {
  const std::string name = "/shmcache-consumer-" + std::to_string(getpid());
  shmcache::Options options;
  options.capacity_bytes = 1 << 20;
  options.max_entry_bytes = 4096;
  shmcache::Error error;
  auto segment = shmcache::Segment::OpenOrCreate(name, options, &error);
  if (!segment) { std::fprintf(stderr, "%s\n", error.message.c_str()); return 1; }
  segment->Put(7, "seven", 1);
  std::string value;
  const bool ok = segment->Get(7, &value) == shmcache::Status::kOk && value == "seven";
  shmcache::Segment::Remove(name);
  std::printf("%s\n", ok ? "shmcache works" : "shmcache broken");
  return ok ? 0 : 1;
}
CC
cat >"$scratch/consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(consumer CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(shmcache REQUIRED)
add_executable(consumer main.cc)
target_link_libraries(consumer PRIVATE shmcache::shmcache)
CM
cmake -S "$scratch/consumer" -B "$scratch/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$scratch/consumer/build" >/dev/null
expect "find_package(shmcache) consumer" "shmcache works" "$("$scratch/consumer/build/consumer")"
flags="$(PKG_CONFIG_PATH="$prefix/$arch_dir/pkgconfig" pkg-config --cflags --libs shmcache)"
# shellcheck disable=SC2086
g++ -o "$scratch/consumer/pc" "$scratch/consumer/main.cc" $flags
expect "pkg-config shmcache consumer ($flags)" "shmcache works" "$("$scratch/consumer/pc")"

echo "== 2. the Debian package"
deb="$(ls "$out"/docstore_"$version"_*.deb)"
lintian_out="$(lintian "$deb" 2>&1 || true)"
echo "$lintian_out" | sed 's/^/  lintian: /'
if echo "$lintian_out" | grep -q '^E:'; then fail "lintian reports errors on $deb"; fi
echo "ok: lintian reports no error"
dpkg -c "$deb" | awk '{print "  " $6}'
[ "$(id -u)" = 0 ] || fail "dpkg -i needs root (CI runs as root)"
dpkg-query -W -f='${Status}' docstore 2>/dev/null | grep -q 'ok installed' &&
  fail "a docstore package is installed already; remove it first"
dpkg -i "$deb" >/dev/null
installed_deb=1
expect "postinst: the service user docstore-sidecar@.service runs as" "docstore:/usr/sbin/nologin" \
  "$(getent passwd docstore | cut -d: -f1,7)"
expect "postinst: /etc/docstore for key files" "750 root docstore" "$(stat -c '%a %U %G' /etc/docstore)"
expect "sqlite3 .load docstore (installed)" "$(printf '1\n1\n1')" \
  "$(sqlite3 "$scratch/deb.db" '.load docstore' "$roundtrip_sql")"
expect "sqlcipher .load docstore_sqlcipher (installed, keyed)" "$(printf '1\n1\n1')" \
  "$(sqlcipher "$scratch/keyed.db" "PRAGMA key = 'package test';" '.load docstore_sqlcipher' "$roundtrip_sql" | grep -vx ok)"
expect "docstore-sidecar --version (installed)" "docstore-sidecar $version" "$(docstore-sidecar --version | cut -d' ' -f1-2)"
sqlite3 "$scratch/deb.db" '.load docstore' 'SELECT doc_touch(1), doc_touch(1)' >/dev/null
docstore-sidecar --once "$scratch/deb.db"
expect "docstore-sidecar --once flushed the doc_get and two doc_touch" "3" \
  "$(sqlite3 "$scratch/deb.db" 'SELECT access_count FROM document_access WHERE doc_id = 1')"
dpkg -r docstore >/dev/null
dpkg -P docstore >/dev/null  # nothing left in dpkg's database either
installed_deb=0
[ ! -e "/usr/$arch_dir/docstore.so" ] || fail "dpkg -r left /usr/$arch_dir/docstore.so"
echo "ok: dpkg -r removed it"

echo "== 3. the npm package"
mkdir -p "$scratch/npm-project"
echo '{"name": "scratch", "version": "1.0.0", "private": true}' >"$scratch/npm-project/package.json"
(cd "$scratch/npm-project" && npm install --offline --no-audit --no-fund "$out/docstore-$version.tgz" >/dev/null)
cat >"$scratch/npm-project/use.cjs" <<'JS'
// require('docstore') from an installed tarball, into each binding.
const fs = require('node:fs');
const docstore = require('docstore');
const dir = process.argv[2];
const sql = "INSERT INTO documents(id, title) VALUES (1, 'From npm')";
const path = docstore.getLoadablePath();
if (!fs.existsSync(path)) throw new Error('no ' + path);
console.log('getLoadablePath:', path.replace(/.*node_modules/, 'node_modules'));
const Database = require('better-sqlite3');
const db = docstore.load(new Database(dir + '/npm.db'));
db.prepare('SELECT docstore_init()').get();
db.prepare(sql).run();
console.log('better-sqlite3:', JSON.parse(db.prepare('SELECT doc_get(1) AS d').get().d).title);
db.close();
const major = Number(process.versions.node.split('.')[0]);
let nodeSqlite = null;
try { nodeSqlite = require('node:sqlite'); } catch { /* not in this Node */ }
if (nodeSqlite) {
  const n = docstore.load(new nodeSqlite.DatabaseSync(dir + '/node.db', { allowExtension: true }));
  n.exec('SELECT docstore_init()');
  n.exec(sql);
  console.log('node:sqlite:', JSON.parse(n.prepare('SELECT doc_get(1) AS d').get().d).title);
} else {
  console.log(`node:sqlite: not in Node ${major}`);
}
const sqlcipher = require('@journeyapps/sqlcipher');
const c = new sqlcipher.Database(dir + '/cipher.db');
docstore.load(c).then((loaded) => {
  loaded.serialize(() => {
    loaded.run("PRAGMA key = 'npm test'");
    loaded.get('SELECT docstore_init() AS v', (e) => { if (e) throw e; });
    loaded.run(sql, (e) => { if (e) throw e; });
    loaded.get('SELECT doc_get(1) AS d', (e, row) => {
      if (e) throw e;
      console.log('@journeyapps/sqlcipher:', JSON.parse(row.d).title);
      loaded.close();
    });
  });
});
JS
npm_out="$(cd "$scratch/npm-project" && NODE_PATH="$root/tests/clients/node_modules" node use.cjs "$scratch")"
echo "$npm_out" | sed 's/^/  /'
echo "$npm_out" | grep -q '^better-sqlite3: From npm$' || fail "better-sqlite3 did not load docstore from the npm package"
echo "$npm_out" | grep -q '^@journeyapps/sqlcipher: From npm$' || fail "@journeyapps/sqlcipher did not load docstore from the npm package"
echo "$npm_out" | grep -Eq '^node:sqlite: (From npm|not in Node [0-9]+)$' || fail "node:sqlite"
echo "ok: npm install ./docstore-$version.tgz, require('docstore').load(db)"

echo "== 4. the Python wheel"
wheel="$(ls "$out"/docstore-"$version"-*.whl)"
/usr/bin/python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install --quiet --no-index "$wheel"
expect "python3 -c 'docstore.load(conn)' in a venv" "$version From pip" "$("$scratch/venv/bin/python" - "$scratch/py.db" <<'PY'
import sqlite3, sys, json
import docstore
conn = docstore.load(sqlite3.connect(sys.argv[1]))
conn.execute("SELECT docstore_init()")
conn.execute("INSERT INTO documents(id, title) VALUES (1, 'From pip')")
title = json.loads(conn.execute("SELECT doc_get(1)").fetchone()[0])["title"]
print(conn.execute("SELECT docstore_version()").fetchone()[0], title)
PY
)"
echo "packages_test: all passed"
