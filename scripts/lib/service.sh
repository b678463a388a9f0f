# Shared helpers for the scripts that start real servers for the tests
# (redis.sh, kafka.sh). Source it after setting SERVICE (log prefix),
# STATE_DIR, LOCK_FILE, PID_FILE and PORT_FILE (and optionally LOCK_WAIT_S);
# define `owns_pid PID` (does this pid run our server?) before calling
# running_pid. A script with several processes (druid.sh) defines its own
# running_pid and cmd_status after sourcing this.

log() { echo "[$SERVICE] $*" >&2; }
die() { echo "[$SERVICE] ERROR: $*" >&2; exit 1; }

# Serialise start/stop between concurrent callers. The server must not inherit
# the lock fd (launch it with 9>&-), or the lock would be held until it exits.
take_lock() {
  mkdir -p "$(dirname "$LOCK_FILE")"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCK_FILE"
    flock -w "${LOCK_WAIT_S:-120}" 9 || die "could not take $LOCK_FILE within ${LOCK_WAIT_S:-120}s"
  fi
}

# kill -0 also succeeds for a zombie; where PID 1 reaps orphans late, a dead
# server lingers as one for a while. A zombie counts as dead.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != "Z" ]]
}

# Pid of our server if alive (a SIGSTOPped one still counts, as a test that
# pauses it wants), else empty. owns_pid guards against a reused stale pid.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 0
  local pid
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  [[ -n "$pid" ]] || return 0
  if alive "$pid" && owns_pid "$pid"; then echo "$pid"; fi
}

# True if something listens on the port (on 127.0.0.1 or a wildcard address).
# Prefer ss (no connection made); fall back to bash /dev/tcp.
port_in_use() {
  local port="$1"
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

cmd_status() {
  local pid
  pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    log "running: pid $pid on 127.0.0.1:$(cat "$PORT_FILE" 2>/dev/null || echo '?')"
    return 0
  fi
  log "not running"
  return 1
}

# Stops the server in PID_FILE: SIGTERM (and SIGCONT, as a test may have left it SIGSTOPped,
# which would keep the SIGTERM pending), then SIGKILL after STOP_TIMEOUT_S. $1: what SIGKILL implies.
stop_server() {
  local pid
  pid="$(running_pid)"
  if [[ -z "$pid" ]]; then
    log "not running"
    rm -f "$PID_FILE"
    return 0
  fi
  log "stopping pid $pid (SIGTERM)"
  kill -TERM "$pid" 2>/dev/null || true
  kill -CONT "$pid" 2>/dev/null || true
  local t0=$SECONDS deadline=$((SECONDS + STOP_TIMEOUT_S))
  while alive "$pid"; do
    if ((SECONDS >= deadline)); then
      log "still alive after ${STOP_TIMEOUT_S}s; SIGKILL${1:+ ($1)}"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.1
  done
  rm -f "$PID_FILE"
  log "stopped in $((SECONDS - t0))s"
}

# The command-line entry of every service script: start|stop|status|env|help.
dispatch() {
  case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    -h | --help | help) usage ;;
    *) usage; exit 2 ;;
  esac
}
