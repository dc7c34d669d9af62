#!/usr/bin/env bash
# metrics_test.sh SIDECAR BUILD_DIR
# The metrics with the real Prometheus tools (Debian's prometheus package):
# known doc_get hits and misses; docstore-sidecar --metrics-listen and
# --metrics-file; `promtool check metrics` on what it serves, on the file and
# on docstore_metrics() (docstore.so in sqlite3, docstore_sqlcipher.so in the
# sqlcipher shell), which must pass with no lint message; a Prometheus server
# on a loopback port scraping the sidecar every second answers
# docstore_cache_requests_total with the test's hits and misses. Before a
# segment exists the sidecar serves docstore_cache_up 0 with the reason.
# Usage errors of --metrics-listen exit 2; a port in use is refused.
set -euo pipefail
sidecar="$1" build="$2"
work="$(mktemp -d)"
pids=()
segments=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for s in "${segments[@]}"; do rm -f "/dev/shm$s"; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# The tools run without the sanitizer runtime that the ASan tree preloads for
# the shells (the Go programs need none; curl hangs under it).
tool() { env -u LD_PRELOAD "$@"; }
sql() { sqlite3 -batch "$work/docs.db" ".load $build/docstore" "$@"; }
# A TCP port free on the loopback interface now.
free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_for WHAT COMMAND...: until COMMAND succeeds, polling for at most 60 s.
wait_for() {
  local what="$1"
  shift
  for _ in $(seq 600); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "never: $what"
}
# lint NAME FILE: promtool check metrics finds nothing to say.
lint() {
  local out
  out="$(tool promtool check metrics <"$2" 2>&1)" || fail "promtool check metrics rejects $1: $out"
  [ -z "$out" ] || fail "promtool check metrics has lint messages for $1: $out"
  echo "promtool check metrics ($1): passed, no messages"
}

# Known hits and misses: documents 1 and 2 read three times each (a miss,
# then two hits), document 99 (none such) once (a miss).
sql "SELECT docstore_init();" "INSERT INTO documents(id, title) VALUES (1, 'one'), (2, 'two');" >/dev/null
sql "SELECT doc_get(1);" "SELECT doc_get(1);" "SELECT doc_get(1);" \
    "SELECT doc_get(2);" "SELECT doc_get(2);" "SELECT doc_get(2);" "SELECT doc_get(99);" >/dev/null
hits=4 misses=3
segments+=("$(sql "SELECT value FROM docstore_stats WHERE name = 'segment';")")
[ "$(sql "SELECT value FROM docstore_stats WHERE name = 'hits';")" = "$hits" ] || fail "docstore_stats hits"
[ "$(sql "SELECT value FROM docstore_stats WHERE name = 'misses';")" = "$misses" ] || fail "docstore_stats misses"
database="$(cd "$work" && pwd -P)/docs.db"
label="database=\"$database\""

# Bad --metrics-listen values are usage errors (exit 2).
for bad in 127.0.0.1 :9464 127.0.0.1:0 127.0.0.1:65536 127.0.0.1:http ::1:9464; do
  status=0
  out="$("$sidecar" --metrics-listen "$bad" "$work/docs.db" 2>&1)" || status=$?
  [ "$status" = 2 ] || fail "--metrics-listen $bad exited $status: $out"
  grep -q -- "--metrics-listen" <<<"$out" || fail "--metrics-listen $bad: no clear error: $out"
done

port="$(free_port)"
mkdir "$work/textfile"
"$sidecar" --interval-ms 50 --metrics-listen "127.0.0.1:$port" --metrics-file "$work/textfile/docstore.prom" \
  "$work/docs.db" 2>"$work/sidecar.err" &
sidecar_pid=$!
pids+=("$sidecar_pid")
metrics_url="http://127.0.0.1:$port/metrics"
serves() { tool curl -sf "$metrics_url" | grep -qxF "$1"; }
# Attached, and every access flushed: the numbers stand still from here on.
wait_for "the sidecar attached" serves "docstore_cache_up{$label} 1"
wait_for "accesses flushed" serves "docstore_access_pending{$label} 0"

tool curl -sf -D "$work/headers" "$metrics_url" >"$work/http.prom"
echo "--- curl -s 127.0.0.1:$port/metrics | head -30"
head -30 "$work/http.prom"
echo "---"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$work/headers" || fail "Content-Type: $(cat "$work/headers")"
for line in "docstore_cache_requests_total{$label,result=\"hit\"} $hits" \
            "docstore_cache_requests_total{$label,result=\"miss\"} $misses" \
            "docstore_sidecar_up{$label} 1" \
            "docstore_access_flushed_total{$label} $(sql "SELECT sum(access_count) FROM document_access;")" \
            "# TYPE docstore_cache_requests_total counter" "# TYPE docstore_flush_lag_seconds gauge"; do
  grep -qxF "$line" "$work/http.prom" || fail "not served: $line"
done
lint "GET /metrics" "$work/http.prom"
status="$(tool curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/other")"
[ "$status" = 404 ] || fail "GET /other answered $status"

# The file: the same text, rewritten after the flushes.
wait_for "the metrics file up to date" grep -qxF "docstore_cache_requests_total{$label,result=\"hit\"} $hits" \
  "$work/textfile/docstore.prom"
lint "--metrics-file" "$work/textfile/docstore.prom"
[ -z "$(ls "$work/textfile" | grep -v '^docstore.prom$')" ] || fail "left beside the file: $(ls "$work/textfile")"

# docstore_metrics() in a process without a sidecar: the same names.
sql "SELECT docstore_metrics();" >"$work/sql.prom"
grep -qxF "docstore_cache_requests_total{$label,result=\"miss\"} $misses" "$work/sql.prom" ||
  fail "docstore_metrics(): $(cat "$work/sql.prom")"
lint "docstore_metrics() in sqlite3" "$work/sql.prom"
printf '.load %s\nSELECT docstore_init();\nINSERT INTO documents(id, title) VALUES (1, %s);\nSELECT doc_get(1);\n' \
  "$build/docstore_sqlcipher" "'one'" | sqlcipher -batch "$work/cipher.db" >/dev/null
printf '.load %s\nSELECT docstore_metrics();\n' "$build/docstore_sqlcipher" | sqlcipher -batch "$work/cipher.db" \
  >"$work/sqlcipher.prom"
segments+=("$(printf '.load %s\nSELECT value FROM docstore_stats WHERE name = %s;\n' "$build/docstore_sqlcipher" \
  "'segment'" | sqlcipher -batch "$work/cipher.db")")
grep -q "^docstore_cache_requests_total{database=\"$(cd "$work" && pwd -P)/cipher.db\",result=\"miss\"} 1$" \
  "$work/sqlcipher.prom" || fail "docstore_metrics() in sqlcipher: $(cat "$work/sqlcipher.prom")"
lint "docstore_metrics() in sqlcipher (docstore_sqlcipher.so)" "$work/sqlcipher.prom"

# Before its database has a segment, a sidecar serves docstore_cache_up 0
# with the reason, and docstore_sidecar_up 1 (a copy: another inode, no segment).
cp "$work/cipher.db" "$work/other.db"
other_port="$(free_port)"
"$sidecar" --metrics-listen "127.0.0.1:$other_port" "$work/other.db" 2>/dev/null &
other_pid=$!
pids+=("$other_pid")
other_label="database=\"$(cd "$work" && pwd -P)/other.db\""
other_serves() { tool curl -sf "http://127.0.0.1:$other_port/metrics" >"$work/other.prom" && grep -qxF "$1" "$work/other.prom"; }
wait_for "the sidecar of other.db serving" other_serves "docstore_sidecar_up{$other_label} 1"
grep -q "^docstore_cache_up{$other_label,reason=\"no segment: .*\"} 0$" "$work/other.prom" ||
  fail "no segment yet: $(cat "$work/other.prom")"
! grep -q "^docstore_cache_requests_total" "$work/other.prom" || fail "counters without a segment"
lint "GET /metrics before a segment exists" "$work/other.prom"
kill -TERM "$other_pid"
wait "$other_pid" || fail "the sidecar of other.db exited $? on SIGTERM"

# A port in use is refused: another sidecar (another database) on this one.
status=0
out="$("$sidecar" --metrics-listen "127.0.0.1:$port" "$work/other.db" 2>&1)" || status=$?
[ "$status" != 0 ] && grep -q "cannot listen on 127.0.0.1:$port.*Address already in use" <<<"$out" ||
  fail "a second sidecar on port $port: exit $status: $out"

# Prometheus itself, on loopback, its storage here, scraping every second.
prometheus_port="$(free_port)"
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: docstore
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF
# Not through tool(): $! must be prometheus itself, for the kill at exit.
env -u LD_PRELOAD prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus-data" \
  --web.listen-address="127.0.0.1:$prometheus_port" --log.level=warn 2>"$work/prometheus.log" &
pids+=("$!")
query="http://127.0.0.1:$prometheus_port/api/v1/query?query=docstore_cache_requests_total"
# The value Prometheus holds for result=$1 (nothing until it has scraped).
scraped() {
  tool curl -sf "$query" | /usr/bin/python3 -c '
import json, sys
for series in json.load(sys.stdin)["data"]["result"]:
    if series["metric"].get("result") == sys.argv[1]:
        print(series["metric"]["database"], series["value"][1])' "$1"
}
has_scraped() { [ -n "$(scraped hit)" ]; }
wait_for "Prometheus answering $query" has_scraped
[ "$(scraped hit)" = "$database $hits" ] || fail "Prometheus has hits: $(scraped hit)"
[ "$(scraped miss)" = "$database $misses" ] || fail "Prometheus has misses: $(scraped miss)"
echo "Prometheus: docstore_cache_requests_total{result=\"hit\"} = $hits, {result=\"miss\"} = $misses"

# A clean stop leaves the file saying the sidecar is down.
kill -TERM "$sidecar_pid"
wait "$sidecar_pid" || fail "the sidecar exited $? on SIGTERM: $(cat "$work/sidecar.err")"
grep -qxF "docstore_sidecar_up{$label} 0" "$work/textfile/docstore.prom" || fail "file after stop"
echo PASS
