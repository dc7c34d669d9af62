#!/usr/bin/env bash
# plain_shell_write_test.sh SHELL EXTENSION [KEY]
# A shell that never loaded docstore writes documents that docstore has
# cached: the schema's plain-SQL triggers log the change in the file, and the
# next doc_get (another process, with docstore) returns the new state. The
# audit log and the full-text index follow too (README: "Writes from any
# tool").
set -euo pipefail
shell="$1" extension="$2" key="${3:-}"
work="$(mktemp -d)"
segment=""
trap 'rm -rf "$work"; [ -z "$segment" ] || rm -f "/dev/shm$segment"' EXIT
keyline=""
[ -n "$key" ] && keyline="PRAGMA key = '$key';"
fail() { echo "FAIL: $*" >&2; exit 1; }
# (sql_shell answers PRAGMA key with "ok".)
with_docstore() { printf '%s\n.load %s\n%s\n' "$keyline" "$extension" "$1" | "$shell" "$work/docs.db" 2>&1 | grep -v '^ok$'; }
plain() { printf '%s\n%s\n' "$keyline" "$1" | "$shell" "$work/docs.db" 2>&1 | grep -v '^ok$' || true; }

with_docstore "PRAGMA journal_mode = WAL;
SELECT docstore_init();
INSERT INTO documents(id, title, content) VALUES (1, 'original', 'kept'), (2, 'doomed', 'gone soon');
SELECT doc_get(1) IS NOT NULL, doc_get(2) IS NOT NULL, doc_get(1) IS NOT NULL;" >/dev/null
segment="$(with_docstore "SELECT value FROM docstore_stats WHERE name = 'segment';")"
cached="$(with_docstore "SELECT count(*) FROM docstore_cache WHERE id IN (1, 2);")"
[ "$cached" = "2" ] || fail "documents 1 and 2 were not cached ($cached)"

# Without docstore: an update, a delete and an insert.
out="$(plain "UPDATE documents SET title = 'changed by a plain shell' WHERE id = 1;
DELETE FROM documents WHERE id = 2;
INSERT INTO documents(id, title, content) VALUES (3, 'inserted plainly', 'new');")"
inserted=1
if [ -n "$out" ]; then
  # SQLCipher 3.4 has no JSON1: the metadata CHECK of an INSERT needs
  # json_valid(), which only docstore supplies there. Nothing else may fail.
  grep -q "json_valid" <<<"$out" || fail "the plain shell's writes failed: $out"
  inserted=0
fi

# (LIKE, not json_extract: SQLCipher 3.4 has no JSON1.)
state="$(with_docstore "SELECT doc_get(1) LIKE '%\"title\":\"changed by a plain shell\"%';
SELECT doc_get(2) IS NULL;
SELECT coalesce(doc_get(3) LIKE '%\"title\":\"inserted plainly\"%', 'none');
SELECT group_concat(doc_id || op, ' ') FROM (SELECT doc_id, op FROM document_audit ORDER BY seq);
SELECT count(*) FROM documents_fts WHERE documents_fts MATCH 'plain*';
SELECT value FROM docstore_stats WHERE name = 'catch_ups';" 2>&1)" ||
  fail "reading back failed: $state"
want_title3=1 want_audit="1insert 2insert 1update 2delete 3insert" want_fts=2
if [ "$inserted" = 0 ]; then want_title3="none" want_audit="1insert 2insert 1update 2delete" want_fts=1; fi
expected="1
1
$want_title3
$want_audit
$want_fts"
[ "$(head -5 <<<"$state")" = "$expected" ] || fail "after plain writes, got:
$state
expected:
$expected"
[ "$(tail -1 <<<"$state")" -ge 1 ] || fail "the cache never caught up with the change log: $state"
echo "PASS: $(basename "$shell") without docstore wrote documents (inserts: $inserted); docstore's next reads saw every change"
