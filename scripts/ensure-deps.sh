#!/usr/bin/env bash
# Installs what berth needs on a fresh Debian 12 machine, as root, idempotently: the Debian packages
# that tests and the demo run against (real runc, crun, dbus-daemon, busybox for fixture rootfs,
# valgrind for the shim's memcheck) and the npm dependencies. Says what it does; does nothing twice.
set -euo pipefail

debs=(runc crun busybox-static dbus libsystemd-dev valgrind clang-format gcc make libc6-dev systemd polkitd
  util-linux procps iproute2 psmisc python3-minimal dpkg-dev binutils)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "berth: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "berth: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "berth: Debian packages present"
fi

cd "$(dirname "$0")/.."
stamp=node_modules/.berth-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "berth: installing npm dependencies (npm ci)"
  npm ci --no-fund --no-audit --loglevel=error
  cp package-lock.json "$stamp"
else
  echo "berth: npm dependencies present"
fi
