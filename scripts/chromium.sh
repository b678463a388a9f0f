#!/usr/bin/env bash
# Headless Chromium for the explorer browser test (test/explorer.test.ts).
#
#   scripts/chromium.sh install   install Debian's `chromium` package if /usr/bin/chromium is missing
#   scripts/chromium.sh path      print the executable path (exit 1 if it is missing)
#   scripts/chromium.sh version   print `chromium --version`
#
# The test drives this binary with playwright-core (npm), so no browser is downloaded
# from a CDN: the Debian package is the only browser, and the version is the distribution's.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
APT_LOCK_WAIT_S=600   # other scripts (redis.sh) may hold the dpkg lock for a while

log() { printf 'chromium.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

cmd_install() {
  if [[ -x "$CHROMIUM" ]]; then
    log "already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    return
  fi
  command -v apt-get >/dev/null 2>&1 || die "$CHROMIUM is missing and apt-get is not available; install Chromium by hand"
  local sudo=""
  [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
  log "$CHROMIUM not found; installing the Debian package chromium"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=$APT_LOCK_WAIT_S update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=$APT_LOCK_WAIT_S \
    install -y --no-install-recommends chromium fonts-dejavu-core
  [[ -x "$CHROMIUM" ]] || die "$CHROMIUM still missing after apt-get install chromium"
  log "installed: $("$CHROMIUM" --version 2>/dev/null)"
}

case "${1:-}" in
  install) cmd_install ;;
  path) [[ -x "$CHROMIUM" ]] || die "$CHROMIUM is missing; run scripts/chromium.sh install"; echo "$CHROMIUM" ;;
  version) "$CHROMIUM" --version ;;
  *) die "usage: scripts/chromium.sh install|path|version" ;;
esac
