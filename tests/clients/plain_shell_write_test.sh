#!/usr/bin/env bash
# plain_shell_write_test.sh SHELL EXTENSION [KEY]
# A connection that never loaded docstore may read the documents but not
# write them: the schema's triggers call docstore_invalidate(), which only
# docstore provides, so the write is refused before anything is written and
# no other process's cache can be left stale (README: "Writes without the
# extension").
set -euo pipefail
shell="$1" extension="$2" key="${3:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
keyline=""
[ -n "$key" ] && keyline="PRAGMA key = '$key';"
"$shell" "$work/docs.db" >/dev/null <<SQL
$keyline
.load $extension
SELECT docstore_init();
INSERT INTO documents(id, title, content) VALUES (1, 'original', 'kept');
SQL
check() {  # check WHAT SQL: the plain shell must refuse SQL
  local out
  out="$(printf '%s\n%s\n' "$keyline" "$2" | "$shell" "$work/docs.db" 2>&1 || true)"
  # SQLCipher 3.4 may trip first on json_valid(), which it lacks and docstore
  # supplies: also a refusal before any write.
  grep -Eq "no such function: docstore_invalidate|unknown function: json_valid" <<<"$out" ||
    { echo "FAIL: $1 was not refused: $out" >&2; exit 1; }
}
check update "UPDATE documents SET title = 'changed' WHERE id = 1;"
check delete "DELETE FROM documents WHERE id = 1;"
check insert "INSERT INTO documents(id, title) VALUES (2, 'new');"
state="$(printf '%s\n%s\n' "$keyline" "SELECT id || ':' || title || ':' || version FROM documents;" |
  "$shell" "$work/docs.db" 2>&1 | grep -v '^ok$')"
[ "$state" = "1:original:1" ] || { echo "FAIL: documents changed: $state" >&2; exit 1; }
echo "PASS: $(basename "$shell") without docstore can read documents and cannot write them"
