#!/usr/bin/env bash
# Private, throw-away Prometheus that scrapes Strata's OpenMetrics export.
#
#   scripts/prometheus.sh start    start (or just report) prometheus on 127.0.0.1:<free port>
#   scripts/prometheus.sh stop     stop it (SIGTERM, bounded wait, then SIGKILL)
#   scripts/prometheus.sh status   exit 0 if running, 1 if not (prints a line to stderr)
#   scripts/prometheus.sh env      print PROMETHEUS_URL=http://127.0.0.1:<port> to stdout
#
# Environment (read by `start` only):
#   STRATA_EXPORT_URL     required: the export URL(s) to scrape, space-separated, each with its
#                         query string, e.g. http://127.0.0.1:4000/export?resource.kafka.id=lkc-1,lkc-2
#                         (one scrape job per URL: strata-export-1, strata-export-2, ...)
#   STRATA_EXPORT_TOKEN   required: the bearer token every job sends (Authorization: Bearer)
#   STRATA_PROMETHEUS_PORT  use exactly this port; otherwise the first free one from 19090 upward
#
# State lives in ${STRATA_IT_DIR:-<repo>/.it}/prometheus/ (git-ignored):
#   prometheus.pid, port, prometheus.yml (generated, mode 600: it holds the token),
#   prometheus.log, data/ (the TSDB, wiped at every start so each run starts empty)
#
# Samples carry the export's own timestamps (honor_timestamps: true): the export
# answers the value of one closed minute, stamped with that minute, so a
# scrape every second stores one sample per minute, not sixty copies.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
STATE_DIR="${STRATA_IT_DIR:-$REPO_ROOT/.it}/prometheus"
PID_FILE="$STATE_DIR/prometheus.pid"
PORT_FILE="$STATE_DIR/port"
LOG_FILE="$STATE_DIR/prometheus.log"
CONFIG_FILE="$STATE_DIR/prometheus.yml"
DATA_DIR="$STATE_DIR/data"
LOCK_FILE="$STATE_DIR/.lock"

FIRST_PORT=19090
LAST_PORT=19190
START_TIMEOUT_S=30     # how long to wait for /-/ready
STOP_TIMEOUT_S=10      # how long to wait after SIGTERM before SIGKILL

SERVICE=prometheus.sh
# shellcheck source=scripts/lib/service.sh
source "$SCRIPT_DIR/lib/service.sh"

owns_pid() { grep -qa 'prometheus' "/proc/$1/cmdline" 2>/dev/null && grep -qa "$STATE_DIR" "/proc/$1/cmdline" 2>/dev/null; }

usage() {
  cat >&2 <<EOF
usage: scripts/prometheus.sh start|stop|status|env
  start   start a private prometheus on 127.0.0.1 scraping \$STRATA_EXPORT_URL with \$STRATA_EXPORT_TOKEN every second
  stop    stop it (SIGTERM, wait ${STOP_TIMEOUT_S}s, then SIGKILL)
  status  exit 0 if running
  env     print PROMETHEUS_URL=http://127.0.0.1:PORT
state: $STATE_DIR/{prometheus.pid,port,prometheus.yml,prometheus.log,data/}
EOF
}

pick_port() {
  if [[ -n "${STRATA_PROMETHEUS_PORT:-}" ]]; then
    [[ "$STRATA_PROMETHEUS_PORT" =~ ^[0-9]+$ ]] || die "STRATA_PROMETHEUS_PORT must be a number, got '$STRATA_PROMETHEUS_PORT'"
    port_in_use "$STRATA_PROMETHEUS_PORT" && die "STRATA_PROMETHEUS_PORT=$STRATA_PROMETHEUS_PORT is already in use"
    echo "$STRATA_PROMETHEUS_PORT"
    return
  fi
  local p
  for ((p = FIRST_PORT; p <= LAST_PORT; p++)); do
    if ! port_in_use "$p"; then echo "$p"; return; fi
  done
  die "no free port in $FIRST_PORT..$LAST_PORT"
}

# Debian's package. Its maintainer scripts would start a system-wide prometheus
# on :9090 where an init system allows it; we never use that one, and stop
# nothing we did not start.
ensure_prometheus_installed() {
  command -v prometheus >/dev/null 2>&1 && return
  log "prometheus not found; installing the Debian package prometheus"
  local sudo=""
  [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus
  command -v prometheus >/dev/null 2>&1 || die "prometheus still missing after apt-get install"
}

# YAML double-quoted scalar: escape backslashes and quotes.
yaml_quote() {
  local s="${1//\\/\\\\}"
  printf '"%s"' "${s//\"/\\\"}"
}

url_decode() {
  local s="${1//+/ }"
  printf '%b' "${s//%/\\x}"
}

# One scrape job for one URL: scheme, target, path and query parameters.
scrape_job() {
  local name="$1" url="$2" token="$3"
  [[ "$url" =~ ^(https?)://([^/?#]+)([^?#]*)(\?([^#]*))?$ ]] || die "STRATA_EXPORT_URL: '$url' is not an http(s) URL such as http://127.0.0.1:4000/export?resource.kafka.id=lkc-1"
  local scheme="${BASH_REMATCH[1]}" target="${BASH_REMATCH[2]}" path="${BASH_REMATCH[3]:-/export}" query="${BASH_REMATCH[5]:-}"
  cat <<EOF
  - job_name: $(yaml_quote "$name")
    scheme: $scheme
    metrics_path: $(yaml_quote "$path")
    honor_timestamps: true
    authorization:
      type: Bearer
      credentials: $(yaml_quote "$token")
    static_configs:
      - targets: [$(yaml_quote "$target")]
EOF
  [[ -n "$query" ]] || return 0
  echo "    params:"
  local pair key value keys=()
  local -A values=()
  IFS='&' read -ra pairs <<<"$query"
  for pair in "${pairs[@]}"; do
    [[ -n "$pair" ]] || continue
    key="$(url_decode "${pair%%=*}")"
    value="$(url_decode "${pair#*=}")"
    [[ -v "values[$key]" ]] || keys+=("$key")
    values[$key]+="$(yaml_quote "$value"), "
  done
  for key in "${keys[@]}"; do
    echo "      $(yaml_quote "$key"): [${values[$key]%, }]"
  done
}

write_config() {
  [[ -n "${STRATA_EXPORT_URL:-}" ]] || die "STRATA_EXPORT_URL is not set: the Strata export URL to scrape, e.g. http://127.0.0.1:4000/export?resource.kafka.id=lkc-1"
  [[ -n "${STRATA_EXPORT_TOKEN:-}" ]] || die "STRATA_EXPORT_TOKEN is not set: a Strata token (npm run -s token -- --role customer --tenant t-1)"
  local url n=0
  (
    umask 077
    cat <<EOF
# Generated by scripts/prometheus.sh; rewritten at every start.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1m
scrape_configs:
EOF
    for url in $STRATA_EXPORT_URL; do
      n=$((n + 1))
      scrape_job "strata-export-$n" "$url" "$STRATA_EXPORT_TOKEN"
    done
  ) >"$CONFIG_FILE.tmp"
  mv "$CONFIG_FILE.tmp" "$CONFIG_FILE"
}

ready_ok() {
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/-/ready" 2>/dev/null)" == "200" ]]
}

cmd_start() {
  take_lock
  local pid port
  pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    log "already running: pid $pid on 127.0.0.1:$(cat "$PORT_FILE" 2>/dev/null || echo '?')"
    return 0
  fi
  ensure_prometheus_installed
  mkdir -p "$STATE_DIR"
  write_config
  # A bad URL or token shows here, naming the file, rather than as a silent exit later.
  if command -v promtool >/dev/null 2>&1; then
    promtool check config "$CONFIG_FILE" >&2 || die "the generated $CONFIG_FILE is invalid (see above)"
  fi
  rm -rf "$DATA_DIR" "$PID_FILE"
  port="$(pick_port)"
  log "starting prometheus on 127.0.0.1:$port (state in $STATE_DIR)"
  # setsid + nohup: it outlives this script and never holds our caller's stdio.
  setsid nohup prometheus \
    --config.file="$CONFIG_FILE" \
    --storage.tsdb.path="$DATA_DIR" \
    --storage.tsdb.retention.time=1d \
    --web.listen-address="127.0.0.1:$port" \
    --web.enable-lifecycle \
    9>&- </dev/null >"$LOG_FILE" 2>&1 &
  echo "$!" >"$PID_FILE"
  echo "$port" >"$PORT_FILE"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until ready_ok "$port"; do
    if ! alive "$(cat "$PID_FILE")" || ((SECONDS >= deadline)); then
      tail -n 30 "$LOG_FILE" >&2 || true
      die "prometheus was not ready on 127.0.0.1:$port within ${START_TIMEOUT_S}s"
    fi
    sleep 0.2
  done
  log "started: pid $(cat "$PID_FILE") on 127.0.0.1:$port"
}

cmd_stop() {
  take_lock
  stop_server
}

cmd_env() {
  [[ -f "$PORT_FILE" ]] || die "no port file ($PORT_FILE); run 'scripts/prometheus.sh start' first"
  [[ -n "$(running_pid)" ]] || log "warning: prometheus is not running; printing the last port anyway"
  echo "PROMETHEUS_URL=http://127.0.0.1:$(cat "$PORT_FILE")"
}

dispatch "$@"
