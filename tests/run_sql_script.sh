#!/usr/bin/env bash
# run_sql_script.sh SHELL EXTENSION SCRIPT EXPECTED [KEY]
# Runs SCRIPT in SHELL (sqlite3 or sqlcipher) on a fresh database with
# EXTENSION loaded (keyed with KEY first when given) and compares what it
# prints with EXPECTED: stdout, then the errors, with the shell-specific
# prefixes ("Runtime error near line N:" vs "Error: near line N:") and
# SQLite 3.40's trailing "(code)" normalised away, and so is the full-text
# engine's own wording of a malformed query (FTS5 and FTS4 say it differently).
set -euo pipefail
shell="$1" extension="$2" script="$3" expected="$4" key="${5:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
{
  [ -n "$key" ] && echo "PRAGMA key = '$key';"
  echo ".load $extension"
  cat "$script"
} >"$work/input.sql"
# The key goes through stdin, never argv.
set +e
"$shell" "$work/test.db" <"$work/input.sql" >"$work/stdout" 2>"$work/stderr"
set -e
{
  grep -v '^ok$' "$work/stdout" || true
  echo "--- errors ---"
  sed -E -e 's/^(Runtime error|Error:) near line [0-9]+: /error: /; s/^Error: /error: /; s/ \([0-9]+\)$//' \
    -e "s/(cannot run full-text query '[^']*'): .*/\1: <engine message>/" \
    "$work/stderr"
} >"$work/actual"
if ! diff -u "$expected" "$work/actual"; then
  echo "FAIL: $script in $shell differs from $expected" >&2
  exit 1
fi
if [ -n "$key" ] && grep -q "Shared memory" "$work/test.db"; then
  echo "FAIL: plaintext found in the keyed database file" >&2
  exit 1
fi
echo "PASS: $(basename "$script") in $(basename "$shell")"
