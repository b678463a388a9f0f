#!/usr/bin/env bash
# Makes sure wrk (the HTTP load generator of bench scenario 6) is installed:
# Debian's package, through apt-get (as root, or with sudo). Run by `npm run bench`.
set -euo pipefail

die() { echo "wrk.sh: $*" >&2; exit 1; }

command -v wrk >/dev/null 2>&1 && exit 0
command -v apt-get >/dev/null 2>&1 || die "wrk is missing and apt-get is not available; install wrk (https://github.com/wg/wrk) by hand"
echo "wrk.sh: wrk not found; installing the Debian package wrk" >&2
sudo=""
[[ "$(id -u)" -eq 0 ]] || sudo="sudo"
# Update the package lists only if the package is not found without it.
if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y --no-install-recommends wrk; then
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y --no-install-recommends wrk
fi
command -v wrk >/dev/null 2>&1 || die "wrk still missing after apt-get install wrk"
