# Sourced by the scripts in this folder: installs what docstore needs from
# Debian's packages, by name, and only what is missing.

# What the build and the demo use.
DOCSTORE_PACKAGES=(
  g++ cmake make pkg-config git
  sqlite3 libsqlite3-dev
  sqlcipher libsqlcipher-dev
  libboost-dev libssl-dev
  libcpp-httplib-dev
  python3
)
# And what the tests add: GoogleTest, the Node clients, the tools that
# build and check the packages (scripts/package, tests/packaging), and
# Prometheus with promtool (tests/clients/metrics_test.sh).
DOCSTORE_TEST_PACKAGES=(
  libgtest-dev nodejs
  dpkg-dev lintian
  python3-venv python3-pip python3-setuptools python3-wheel
  prometheus curl
)
# And what scripts/bench adds: Redis and its C client (the comparison rows),
# python3-redis (the Python workers' Redis), matplotlib (the suite's chart).
DOCSTORE_BENCH_PACKAGES=(redis-server libhiredis-dev python3-redis python3-matplotlib)
# And what scripts/fuzz adds: clang with libFuzzer and the sanitizer runtimes.
DOCSTORE_FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)

# ensure_packages PKG... : apt-get install the ones not installed yet.
ensure_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "docstore: installing ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# The repository root, whatever the caller's working directory.
DOCSTORE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Two cores on the project's machines; never more jobs than cores.
DOCSTORE_JOBS="$(nproc)"

# The npm packages of tests/clients, as package-lock.json pins them:
# better-sqlite3, and @journeyapps/sqlcipher, whose SQLCipher 4 amalgamation
# the tests and benchmarks link (cmake/sqlcipher4.cmake). Their bindings compile against the
# installed Node's headers, with nothing downloaded but the packages.
ensure_node_clients() {
  local clients="$DOCSTORE_ROOT/tests/clients"
  local stamp="$clients/node_modules/.docstore-lock-stamp"
  cmp -s "$clients/package-lock.json" "$stamp" 2>/dev/null && return 0
  command -v npm >/dev/null || ensure_packages npm  # Debian's nodejs comes without it
  echo "docstore: npm ci in tests/clients (better-sqlite3, @journeyapps/sqlcipher)" >&2
  (cd "$clients" && npm_config_nodedir=/usr npm ci --no-audit --no-fund >/dev/null)
  cp "$clients/package-lock.json" "$stamp"
}

# The -D option that gives the build SQLCipher 4, which the tests and the
# benchmarks need: the amalgamation of the npm package @journeyapps/sqlcipher,
# installed first (ensure_node_clients).
sqlcipher4_option() {
  ensure_node_clients
  echo "-DDOCSTORE_SQLCIPHER4=$DOCSTORE_ROOT/tests/clients/node_modules/@journeyapps/sqlcipher/deps/sqlcipher-amalgamation"
}

# configure_and_build DIR [cmake args...] [-- targets...]: a CMake build tree
# in DIR, all of it or the targets named.
configure_and_build() {
  local dir="$1"
  shift
  local configure=() targets=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do configure+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  [ $# -gt 0 ] && targets=(--target "$@")
  cmake -S "$DOCSTORE_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release "${configure[@]}" >/dev/null
  cmake --build "$dir" -j "$DOCSTORE_JOBS" "${targets[@]}"
}
