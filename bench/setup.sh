#!/usr/bin/env bash
# What `npm run bench` needs beyond the test dependencies (scripts/ensure-deps.sh): containerd 1.6
# from Debian (containerd, ctr, containerd-shim-runc-v2) for the side-by-side comparison. Only the
# benchmark uses it: the host's containerd.service is never started by this (the sandbox masks it,
# and the bench runs its own containerd with its own root, state and socket).
set -euo pipefail
if dpkg-query -W -f='${Status}' containerd 2>/dev/null | grep -q 'install ok installed'; then
  echo "bench: containerd present ($(containerd --version | awk '{print $3}'))" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "bench: containerd is missing (apt-get install containerd, as root)" >&2
  exit 1
fi
echo "bench: installing the Debian package containerd (for the benchmark only)" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd >/dev/null
