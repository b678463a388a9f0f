#!/usr/bin/env bash
# Private, throw-away Redis for the Strata test suite.
#
#   scripts/redis.sh start    start (or just report) a redis-server on 127.0.0.1:<free port>
#   scripts/redis.sh stop     stop it (SIGTERM, bounded wait, then SIGKILL)
#   scripts/redis.sh status   exit 0 if running, 1 if not (prints a line to stderr)
#   scripts/redis.sh env      print REDIS_URL=redis://127.0.0.1:<port> to stdout
#
# Environment:
#   STRATA_REDIS_PORT   use exactly this port; otherwise reuse the previous run's port
#                       if free, else probe from 16379 upward
#
# State lives in <repo>/.it/redis/ (git-ignored):
#   redis.pid   pid of redis-server (send SIGSTOP/SIGCONT to it to simulate a hang)
#   port        the port it listens on
#   redis.log   its log (redis.stderr: anything printed before it daemonized)
#
# A system Redis may already run on 6379; we never touch it. Ours binds 127.0.0.1
# only, keeps nothing on disk (no RDB, no AOF), and is therefore empty after
# every start.
set -euo pipefail

# Resolve the repo root from this file's location, so the script works from any cwd.
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
STATE_DIR="${STRATA_IT_DIR:-$REPO_ROOT/.it}/redis"
PID_FILE="$STATE_DIR/redis.pid"
PORT_FILE="$STATE_DIR/port"
LOG_FILE="$STATE_DIR/redis.log"
ERR_FILE="$STATE_DIR/redis.stderr"   # what redis prints before it daemonizes (e.g. config errors)
LOCK_FILE="$STATE_DIR/.lock"

FIRST_PORT=16379       # probe upward from here when STRATA_REDIS_PORT is not set
LAST_PORT=16479
START_TIMEOUT_S=20     # how long to wait for PONG
STOP_TIMEOUT_S=10      # how long to wait after SIGTERM before SIGKILL

SERVICE=redis.sh
# shellcheck source=scripts/lib/service.sh
source "$SCRIPT_DIR/lib/service.sh"

owns_pid() { grep -qa 'redis-server' "/proc/$1/cmdline" 2>/dev/null; }

usage() {
  cat >&2 <<EOF
usage: scripts/redis.sh start|stop|status|env
  start   start a private redis-server on 127.0.0.1 (port: STRATA_REDIS_PORT, else the previous port if free, else first free from $FIRST_PORT)
  stop    stop it (SIGTERM, wait ${STOP_TIMEOUT_S}s, then SIGKILL)
  status  exit 0 if running
  env     print REDIS_URL=redis://127.0.0.1:PORT
state: $STATE_DIR/{redis.pid,port,redis.log}
EOF
}

pick_port() {
  if [[ -n "${STRATA_REDIS_PORT:-}" ]]; then
    [[ "$STRATA_REDIS_PORT" =~ ^[0-9]+$ ]] || die "STRATA_REDIS_PORT must be a number, got '$STRATA_REDIS_PORT'"
    port_in_use "$STRATA_REDIS_PORT" && die "STRATA_REDIS_PORT=$STRATA_REDIS_PORT is already in use"
    echo "$STRATA_REDIS_PORT"
    return
  fi
  # Prefer the previous port, so clients configured before a stop/start still
  # reach the new instance.
  local p prev
  prev="$(cat "$PORT_FILE" 2>/dev/null || true)"
  if [[ -n "$prev" ]] && ! port_in_use "$prev"; then echo "$prev"; return; fi
  for ((p = FIRST_PORT; p <= LAST_PORT; p++)); do
    if ! port_in_use "$p"; then echo "$p"; return; fi
  done
  die "no free port in $FIRST_PORT..$LAST_PORT"
}

# The brief allows installing the Debian package if the binary is missing.
# Note: the package's postinst may try to start the *system* redis service on
# 6379; that is harmless for us (we never use it) and usually a no-op in containers.
ensure_redis_installed() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return
  fi
  log "redis-server not found; installing the Debian package redis-server"
  local sudo=""
  [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server
  command -v redis-server >/dev/null 2>&1 || die "redis-server still missing after apt-get install"
}

ping_ok() {
  [[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == "PONG" ]]
}

cmd_start() {
  take_lock
  local pid port
  pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    port="$(cat "$PORT_FILE" 2>/dev/null || true)"
    log "already running: pid $pid on 127.0.0.1:${port:-?}"
    return 0
  fi
  ensure_redis_installed
  rm -f "$PID_FILE"
  port="$(pick_port)"

  # --save "" and --appendonly no: no persistence at all, tests start from empty.
  # --dir: keeps any stray file (e.g. a manual SAVE) inside .it/redis/.
  # --daemonize yes: redis forks, writes the pid file and detaches from our stdio,
  #   so callers capturing our output (execSync, $(...)) do not hang.
  log "starting redis-server on 127.0.0.1:$port (state in $STATE_DIR)"
  : >"$LOG_FILE"
  : >"$ERR_FILE"
  redis-server \
    --bind 127.0.0.1 \
    --port "$port" \
    --protected-mode yes \
    --save "" \
    --appendonly no \
    --daemonize yes \
    --pidfile "$PID_FILE" \
    --logfile "$LOG_FILE" \
    --dir "$STATE_DIR" \
    9>&- </dev/null >/dev/null 2>"$ERR_FILE" \
    || { tail -n 30 "$ERR_FILE" "$LOG_FILE" >&2 || true; die "redis-server failed to launch"; }

  # Bounded wait for PONG.
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until ping_ok "$port"; do
    if ((SECONDS >= deadline)); then
      log "last lines of $LOG_FILE:"
      tail -n 30 "$ERR_FILE" "$LOG_FILE" >&2 || true
      die "redis did not answer PONG on 127.0.0.1:$port within ${START_TIMEOUT_S}s"
    fi
    sleep 0.1
  done
  echo "$port" >"$PORT_FILE"
  pid="$(running_pid)"
  log "started: pid ${pid:-?} on 127.0.0.1:$port"
}

cmd_stop() {
  take_lock
  stop_server
}

cmd_env() {
  [[ -f "$PORT_FILE" ]] || die "no port file ($PORT_FILE); run 'scripts/redis.sh start' first"
  [[ -n "$(running_pid)" ]] || log "warning: redis is not running; printing the last port anyway"
  echo "REDIS_URL=redis://127.0.0.1:$(cat "$PORT_FILE")"
}

dispatch "$@"
