#!/usr/bin/env bash
# wrong_runtime_test.sh BUILD_DIR
# docstore.so is built against SQLite 3.40; loaded into the sqlcipher shell
# (SQLite 3.15.2 inside) it must refuse with a message, and the shell must
# carry on: no crash.
set -uo pipefail
build="$1"
out="$(printf '.load %s/docstore\nSELECT 40 + 2;\n' "$build" | sqlcipher :memory: 2>&1)"
status=$?
echo "$out"
if [ "$status" -ge 128 ]; then
  echo "FAIL: the sqlcipher shell died with signal $((status - 128))" >&2
  exit 1
fi
grep -q "needs a runtime >= 3.40.0, but it was loaded into SQLite 3.15.2" <<<"$out" ||
  { echo "FAIL: no clear refusal" >&2; exit 1; }
grep -qx "42" <<<"$out" || { echo "FAIL: the shell did not carry on" >&2; exit 1; }
echo "PASS: docstore.so refused by SQLite 3.15.2 with a clear message"
