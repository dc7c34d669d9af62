# Sourced by the scripts in this folder: installs what docstore needs from
# Debian's packages, by name, and only what is missing.

# Everything the build, the tests and the demo use.
DOCSTORE_PACKAGES=(
  g++ cmake make pkg-config
  sqlite3 libsqlite3-dev
  sqlcipher libsqlcipher-dev
  libboost-dev libgtest-dev libssl-dev
  python3 nodejs
)

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

# configure_and_build DIR [cmake args...]: a CMake build tree in DIR.
configure_and_build() {
  local dir="$1"
  shift
  cmake -S "$DOCSTORE_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "$dir" -j "$DOCSTORE_JOBS"
}
