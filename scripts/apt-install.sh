#!/usr/bin/env bash
# Install Debian packages the tests need: scripts/apt-install.sh [APT-OPTION...] PACKAGE...
# (arguments starting with "-" go to apt-get install as they are, e.g. --no-install-recommends).
# Installs from the package lists already on the machine and runs `apt-get update` (then installs again) only when
# that fails: on a machine with fresh lists the update's ~30 s are saved, on one with stale lists nothing is lost.
# One install at a time through a lock (flock): `make -j2 test` runs the chromium and mariadb targets side by side,
# and two apt-get runs would otherwise collide on dpkg's own lock. Quiet on success; on failure apt-get's output
# and then one line on stderr, exit 1. Needs root, or sudo.
set -euo pipefail

(( $# )) || { echo "usage: scripts/apt-install.sh [APT-OPTION...] PACKAGE..." >&2; exit 2; }
packages=()
for arg in "$@"; do [[ "$arg" == -* ]] || packages+=("$arg"); done
sudo=
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null || { echo "apt-install: installing ${packages[*]} needs root: apt-get install ${packages[*]}" >&2; exit 1; }
  sudo=sudo
fi

lock="${RDSAUDIT_APT_LOCK:-/tmp/rdsaudit-apt.lock}"
exec 9>>"$lock"
flock -w 900 9 || { echo "apt-install: another install held $lock for 900 s" >&2; exit 1; }

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
install() {
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -o DPkg::Lock::Timeout=600 "$@" >>"$out" 2>&1
}
if ! install "$@"; then
  if ! { $sudo apt-get update -qq >>"$out" 2>&1 && install "$@"; }; then
    cat "$out" >&2
    echo "apt-install: apt-get install ${packages[*]} failed" >&2
    exit 1
  fi
fi
