#!/usr/bin/env bash
# Private Apache Druid cluster on 127.0.0.1 for the Strata test suite, run from
# Maven Central jars; no Docker, no tarball.
#
#   scripts/druid.sh start    resolve jars (first time only), start ZooKeeper + coordinator(+overlord)
#                             + historical + indexer + broker, wait until the broker answers SQL
#   scripts/druid.sh stop     SIGTERM in order (broker/indexer/historical, coordinator, ZooKeeper), each
#                             group waited for (20s/15s/10s) then SIGKILLed; data is kept
#   scripts/druid.sh status   exit 0 if every process is up and the broker answers SELECT 1
#   scripts/druid.sh env      print DRUID_URL=http://127.0.0.1:<broker port> (also DRUID_COORDINATOR_URL)
#   scripts/druid.sh reset    stop and delete .it/druid/ (segments, metadata, logs)
#
# Environment:
#   STRATA_DRUID_ROUTER_OR_BROKER_PORT  broker port (default: the previous one, else first free from 18082)
#   STRATA_DRUID_VERSION                Druid version (default 27.0.0: the newest release whose
#                                       services, sql, indexing-service and MSQ modules are all on the
#                                       Maven Central this machine reaches; see scripts/druid/README.md)
#   STRATA_DRUID_START_TIMEOUT          seconds to wait for readiness (default 240)
#   STRATA_DRUID_MVN_SETTINGS           Maven settings file (default scripts/druid/maven-settings.xml)
#   STRATA_DRUID_JAVA_OPTS              extra JVM options for every Druid process
#
# Files:
#   .cache/druid-<version>/lib/          jars; lib/.complete marks a finished download
#   .it/druid/ports.env                  chosen ports (ZK, Derby, coordinator, broker, historical, indexer)
#   .it/druid/pids/<process>.pid         one JVM per process
#   .it/druid/log/<process>.log          current run (previous run: <process>.log.prev)
#   .it/druid/conf/                      generated configuration (from scripts/druid/conf/*.tmpl)
#   .it/druid/var/                       ZooKeeper data, Derby metadata, deep storage, segment cache, task dirs
#
# Endpoints: SQL POST $DRUID_URL/druid/v2/sql, MSQ POST $DRUID_URL/druid/v2/sql/task,
# cancel DELETE $DRUID_URL/druid/v2/sql/<sqlQueryId>; task status
# GET $DRUID_COORDINATOR_URL/druid/indexer/v1/task/<id>/status (the overlord runs in the coordinator).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
TMPL_DIR="$SCRIPT_DIR/druid"

DRUID_VERSION="${STRATA_DRUID_VERSION:-27.0.0}"
DEP_PLUGIN_VERSION=3.6.1   # pin maven-dependency-plugin; Maven 3.8's default (2.8) is very old
MVN_SETTINGS="${STRATA_DRUID_MVN_SETTINGS:-$TMPL_DIR/maven-settings.xml}"

CACHE_DIR="$REPO_ROOT/.cache/druid-$DRUID_VERSION"
LIB_DIR="$CACHE_DIR/lib"
LIB_MARKER="$LIB_DIR/.complete"
LAUNCHER_SRC="$TMPL_DIR/launcher/StrataDruidMain.java"
LAUNCHER_DIR="$CACHE_DIR/launcher"
LAUNCHER_CLASS="$LAUNCHER_DIR/strata/druid/StrataDruidMain.class"

STATE_DIR="${STRATA_IT_DIR:-$REPO_ROOT/.it}/druid"
CONF_DIR="$STATE_DIR/conf"
VAR_DIR="$STATE_DIR/var"
LOG_DIR="$STATE_DIR/log"
PID_DIR="$STATE_DIR/pids"
PORTS_FILE="$STATE_DIR/ports.env"
LOCK_FILE="${STRATA_IT_DIR:-$REPO_ROOT/.it}/.druid.lock"   # outside STATE_DIR so "reset" can delete STATE_DIR while holding it

START_TIMEOUT_S="${STRATA_DRUID_START_TIMEOUT:-240}"
FIRST_PORT=18081
LAST_PORT=18299

# Sizing for a 2-core machine shared with other work (about 3.3 GiB heap+direct in total).
PROCESSING_BUFFER=50MiB       # direct memory >= buffer * (numMergeBuffers 2 + numThreads 1 + 1) = 200 MiB
WORKER_CAPACITY=3             # MSQ: controller + 1 worker (maxNumTasks=2) plus one spare slot
COORD_PERIOD=PT2S             # coordinator duty period: assigns freshly published segments to the historical
SEGMENT_POLL=PT2S             # druid.manager.segments.pollDuration: how soon the coordinator sees a new segment

# name:druid-subcommand:heap:direct   (zk is separate: not a Druid process)
DRUID_PROCS=(
  "coordinator-overlord:coordinator:512m:64m"
  "historical:historical:384m:256m"
  "indexer:indexer:1024m:256m"
  "broker:broker:512m:256m"
)
ALL_PROCS=(zk coordinator-overlord historical indexer broker)

# Java 17 needs these for Druid (examples/bin/run-java in the Druid distribution).
JAVA_OPENS=(
  --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED
)
# SerialGC: fewest threads / least footprint on 2 cores. TieredStopAtLevel=1 (C1 JIT only): start
# 31s -> 22s and the first MSQ task 7s -> 4s on 2 cores; heavy queries run ~1.5x slower, which tiny
# test data never notices (override with STRATA_DRUID_JAVA_OPTS=-XX:TieredStopAtLevel=4).
# preferIPv4Stack: plain 127.0.0.1 sockets.
JAVA_COMMON=(
  -server -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError
  -Duser.timezone=UTC -Dfile.encoding=UTF-8 -Djava.net.preferIPv4Stack=true -Djava.awt.headless=true
  -Djava.util.logging.manager=org.apache.logging.log4j.jul.LogManager
  "-Djava.io.tmpdir=$VAR_DIR/tmp"
)

SERVICE=druid.sh
LOCK_WAIT_S=300   # a cold start downloads jars while holding the lock
# shellcheck source=scripts/lib/service.sh
source "$SCRIPT_DIR/lib/service.sh"

usage() {
  cat >&2 <<EOF
usage: scripts/druid.sh start|stop|status|env|reset
  start   start Druid $DRUID_VERSION (ZK, coordinator+overlord, historical, indexer, broker) on 127.0.0.1
  stop    stop it (SIGTERM in dependency order, bounded waits, then SIGKILL); data is kept
  status  exit 0 if every process runs and the broker answers SQL
  env     print DRUID_URL=http://127.0.0.1:PORT (broker) and DRUID_COORDINATOR_URL=... (coordinator+overlord)
  reset   stop and delete $STATE_DIR
env: STRATA_DRUID_ROUTER_OR_BROKER_PORT, STRATA_DRUID_VERSION, STRATA_DRUID_START_TIMEOUT,
     STRATA_DRUID_MVN_SETTINGS, STRATA_DRUID_JAVA_OPTS
EOF
}

# The marker that identifies each of our JVMs on its command line (guards against reused pids).
cmd_marker() {
  case "$1" in
    zk) echo "$CONF_DIR/zk/zoo.cfg" ;;
    *) echo "-Dstrata.druid.proc=$1" ;;
  esac
}

# Pid of our process $1 if alive, else empty (several JVMs: replaces the one-process helper).
running_pid() {
  local name="$1" f="$PID_DIR/$1.pid" pid
  [[ -f "$f" ]] || return 0
  pid="$(tr -dc '0-9' <"$f")"
  [[ -n "$pid" ]] || return 0
  if alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(cmd_marker "$name")"; then
    echo "$pid"
  fi
}

# ---------------------------------------------------------------------------
# Ports: keep the previous run's ports when they are still free (clients that
# survive a restart keep working), else the first free ones from 18081.
# ---------------------------------------------------------------------------
CHOSEN_PORTS=" "
take_port() { # take_port PREVIOUS -> echo a free port not chosen yet
  local prev="$1" p
  if [[ -n "$prev" && "$CHOSEN_PORTS" != *" $prev "* ]] && ! port_in_use "$prev"; then
    echo "$prev"; return
  fi
  for ((p = FIRST_PORT; p <= LAST_PORT; p++)); do
    [[ "$CHOSEN_PORTS" == *" $p "* ]] && continue
    if ! port_in_use "$p"; then echo "$p"; return; fi
  done
  die "no free port in $FIRST_PORT..$LAST_PORT"
}

choose_ports() {
  local ZK_PORT="" DERBY_PORT="" COORDINATOR_PORT="" BROKER_PORT="" HISTORICAL_PORT="" INDEXER_PORT=""
  # shellcheck disable=SC1090
  [[ -f "$PORTS_FILE" ]] && source "$PORTS_FILE"
  local broker
  if [[ -n "${STRATA_DRUID_ROUTER_OR_BROKER_PORT:-}" ]]; then
    broker="$STRATA_DRUID_ROUTER_OR_BROKER_PORT"
    [[ "$broker" =~ ^[0-9]+$ ]] || die "STRATA_DRUID_ROUTER_OR_BROKER_PORT must be a number, got '$broker'"
    port_in_use "$broker" && die "STRATA_DRUID_ROUTER_OR_BROKER_PORT=$broker is already in use"
  else
    broker="$(take_port "${BROKER_PORT:-18082}")"
  fi
  CHOSEN_PORTS+="$broker "
  local zk derby coord hist idx
  zk="$(take_port "${ZK_PORT:-}")";                 CHOSEN_PORTS+="$zk "
  derby="$(take_port "${DERBY_PORT:-}")";           CHOSEN_PORTS+="$derby "
  coord="$(take_port "${COORDINATOR_PORT:-}")";     CHOSEN_PORTS+="$coord "
  hist="$(take_port "${HISTORICAL_PORT:-}")";       CHOSEN_PORTS+="$hist "
  idx="$(take_port "${INDEXER_PORT:-}")";           CHOSEN_PORTS+="$idx "
  cat >"$PORTS_FILE" <<EOF
ZK_PORT=$zk
DERBY_PORT=$derby
COORDINATOR_PORT=$coord
BROKER_PORT=$broker
HISTORICAL_PORT=$hist
INDEXER_PORT=$idx
EOF
}

load_ports() {
  [[ -f "$PORTS_FILE" ]] || return 1
  # shellcheck disable=SC1090
  source "$PORTS_FILE"
}

# ---------------------------------------------------------------------------
# Jars: resolve druid-services + MSQ once into .cache/.
# ---------------------------------------------------------------------------
ensure_libs() {
  if [[ -f "$LIB_MARKER" ]]; then
    log "using cached jars in $LIB_DIR"
    return
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found (needed once to download Druid jars)"
  log "resolving Druid $DRUID_VERSION jars from Maven Central into $LIB_DIR (first run only; ~130 MB)"
  local t0=$SECONDS
  rm -rf "$LIB_DIR"
  mkdir -p "$CACHE_DIR"
  sed "s|@@VERSION@@|$DRUID_VERSION|g" "$TMPL_DIR/pom.xml.tmpl" >"$CACHE_DIR/pom.xml"
  local settings=()
  [[ -n "$MVN_SETTINGS" ]] && settings=(-s "$MVN_SETTINGS")
  if ! mvn -B -q "${settings[@]}" -f "$CACHE_DIR/pom.xml" \
      "org.apache.maven.plugins:maven-dependency-plugin:$DEP_PLUGIN_VERSION:copy-dependencies" \
      -DoutputDirectory="$LIB_DIR" -DincludeScope=runtime -Dmdep.useBaseVersion=true \
      >"$CACHE_DIR/mvn.log" 2>&1; then
    tail -n 30 "$CACHE_DIR/mvn.log" >&2 || true
    die "Maven could not resolve Druid $DRUID_VERSION (log: $CACHE_DIR/mvn.log)"
  fi
  ls "$LIB_DIR"/druid-services-*.jar >/dev/null 2>&1 || die "druid-services jar missing after Maven ran"
  touch "$LIB_MARKER"
  log "resolved $(find "$LIB_DIR" -name '*.jar' | wc -l) jars in $((SECONDS - t0))s"
}

# Druid's own Main cannot start without druid-indexing-hadoop (see the comment in
# scripts/druid/launcher/StrataDruidMain.java); compile our replacement once.
ensure_launcher() {
  if [[ -f "$LAUNCHER_CLASS" && "$LAUNCHER_CLASS" -nt "$LAUNCHER_SRC" ]]; then return; fi
  command -v javac >/dev/null 2>&1 || die "javac not found (a JDK 17 is needed to compile $LAUNCHER_SRC)"
  log "compiling $LAUNCHER_SRC"
  rm -rf "$LAUNCHER_DIR" && mkdir -p "$LAUNCHER_DIR"
  javac -nowarn -d "$LAUNCHER_DIR" -cp "$LIB_DIR/*" "$LAUNCHER_SRC" >"$CACHE_DIR/javac.log" 2>&1 \
    || { cat "$CACHE_DIR/javac.log" >&2; die "could not compile $LAUNCHER_SRC"; }
}

# ---------------------------------------------------------------------------
# Configuration: render scripts/druid/conf/**.tmpl into .it/druid/conf/.
# ---------------------------------------------------------------------------
render() { # render TEMPLATE OUT
  sed -e "s|@@VAR@@|$VAR_DIR|g" -e "s|@@ZK_PORT@@|$ZK_PORT|g" -e "s|@@DERBY_PORT@@|$DERBY_PORT|g" \
      -e "s|@@COORDINATOR_PORT@@|$COORDINATOR_PORT|g" -e "s|@@BROKER_PORT@@|$BROKER_PORT|g" \
      -e "s|@@HISTORICAL_PORT@@|$HISTORICAL_PORT|g" -e "s|@@INDEXER_PORT@@|$INDEXER_PORT|g" \
      -e "s|@@BUFFER@@|$PROCESSING_BUFFER|g" -e "s|@@CAPACITY@@|$WORKER_CAPACITY|g" \
      -e "s|@@COORD_PERIOD@@|$COORD_PERIOD|g" -e "s|@@POLL@@|$SEGMENT_POLL|g" "$1" >"$2"
  if grep -q '@@[A-Z_]*@@' "$2"; then die "unreplaced placeholder in $2"; fi
}

write_config() {
  rm -rf "$CONF_DIR"
  mkdir -p "$CONF_DIR"/{_common,coordinator-overlord,broker,historical,indexer,zk}
  render "$TMPL_DIR/conf/_common/common.runtime.properties.tmpl" "$CONF_DIR/_common/common.runtime.properties"
  cp "$TMPL_DIR/conf/_common/log4j2.xml" "$CONF_DIR/_common/log4j2.xml"
  local p
  for p in coordinator-overlord broker historical indexer; do
    render "$TMPL_DIR/conf/$p/runtime.properties.tmpl" "$CONF_DIR/$p/runtime.properties"
  done
  render "$TMPL_DIR/conf/zk/zoo.cfg.tmpl" "$CONF_DIR/zk/zoo.cfg"
}

# ---------------------------------------------------------------------------
# Launch / wait helpers
# ---------------------------------------------------------------------------
rotate_log() { [[ -f "$LOG_DIR/$1.log" ]] && mv -f "$LOG_DIR/$1.log" "$LOG_DIR/$1.log.prev"; return 0; }

launch_zk() {
  rotate_log zk
  # shellcheck disable=SC2086
  nohup java -Xms64m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.net.preferIPv4Stack=true \
    -Dzookeeper.admin.enableServer=false -Dzookeeper.jmx.log4j.disable=true \
    -cp "$CONF_DIR/_common:$LIB_DIR/*" \
    org.apache.zookeeper.server.ZooKeeperServerMain "$CONF_DIR/zk/zoo.cfg" \
    </dev/null >"$LOG_DIR/zk.log" 2>&1 9>&- &
  echo $! >"$PID_DIR/zk.pid"
}

launch_druid() { # launch_druid "name:subcommand:heap:direct"
  local name svc heap direct extra=()
  IFS=: read -r name svc heap direct <<<"$1"
  rotate_log "$name"
  if [[ "$name" == coordinator-overlord ]]; then
    extra=("-Dderby.system.home=$VAR_DIR/derby" "-Dderby.stream.error.file=$LOG_DIR/derby.log")
  fi
  local user_opts=()
  # shellcheck disable=SC2206
  [[ -n "${STRATA_DRUID_JAVA_OPTS:-}" ]] && user_opts=($STRATA_DRUID_JAVA_OPTS)
  nohup java "${JAVA_OPENS[@]}" "${JAVA_COMMON[@]}" "-Xms$heap" "-Xmx$heap" "-XX:MaxDirectMemorySize=$direct" \
    "-Dstrata.druid.proc=$name" "${extra[@]}" "${user_opts[@]}" \
    -cp "$CONF_DIR/$name:$CONF_DIR/_common:$LAUNCHER_DIR:$LIB_DIR/*" strata.druid.StrataDruidMain server "$svc" \
    </dev/null >"$LOG_DIR/$name.log" 2>&1 9>&- &
  echo $! >"$PID_DIR/$name.pid"
}

dump_logs() {
  local p
  for p in "${ALL_PROCS[@]}"; do
    [[ -f "$LOG_DIR/$p.log" ]] || continue
    echo "----- last 25 lines of $LOG_DIR/$p.log -----" >&2
    tail -n 25 "$LOG_DIR/$p.log" >&2 || true
  done
}

fail_start() {
  echo "[druid.sh] ERROR: $*" >&2
  dump_logs
  log "stopping what was started"
  stop_all >/dev/null 2>&1 || true
  exit 1
}

DEADLINE=0
check_alive() { # all launched processes still alive?
  local p
  for p in "$@"; do
    [[ -n "$(running_pid "$p")" ]] || fail_start "$p exited during startup (log: $LOG_DIR/$p.log)"
  done
}

wait_until() { # wait_until DESCRIPTION CMD... ; processes in $WATCH must stay alive
  local what="$1"; shift
  until "$@" >/dev/null 2>&1; do
    check_alive "${WATCH[@]}"
    ((SECONDS < DEADLINE)) || fail_start "timed out after ${START_TIMEOUT_S}s waiting for $what"
    sleep 0.5
  done
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
http_ok() { curl -fsS -m 5 -o /dev/null "$1"; }
broker_sql_ok() {
  curl -fsS -m 10 -H 'Content-Type: application/json' -X POST "http://127.0.0.1:$BROKER_PORT/druid/v2/sql" \
    -d '{"query":"SELECT 1 AS ok","context":{"sqlQueryId":"druid-sh-ready"}}' 2>/dev/null | grep -q '"ok":1'
}
# The overlord sees the indexer as a worker (MSQ tasks can be scheduled).
overlord_has_worker() {
  curl -fsS -m 5 "http://127.0.0.1:$COORDINATOR_PORT/druid/indexer/v1/workers" 2>/dev/null | grep -q '"worker"'
}

# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------
all_running() {
  local p
  for p in "${ALL_PROCS[@]}"; do [[ -n "$(running_pid "$p")" ]] || return 1; done
}

any_running() {
  local p
  for p in "${ALL_PROCS[@]}"; do [[ -n "$(running_pid "$p")" ]] && return 0; done
  return 1
}

cmd_start() {
  take_lock
  command -v java >/dev/null 2>&1 || die "java not found (Java 17 needed)"
  command -v curl >/dev/null 2>&1 || die "curl not found"
  if all_running && load_ports && broker_sql_ok; then
    if [[ -z "${STRATA_DRUID_ROUTER_OR_BROKER_PORT:-}" || "$STRATA_DRUID_ROUTER_OR_BROKER_PORT" == "$BROKER_PORT" ]]; then
      log "already running: broker http://127.0.0.1:$BROKER_PORT"
      return 0
    fi
    log "running with broker port $BROKER_PORT but STRATA_DRUID_ROUTER_OR_BROKER_PORT=$STRATA_DRUID_ROUTER_OR_BROKER_PORT; restarting"
    stop_all
  elif any_running; then
    log "some Druid processes run but the cluster is not healthy; restarting"
    stop_all
  fi
  local t0=$SECONDS
  ensure_libs
  ensure_launcher
  mkdir -p "$LOG_DIR" "$PID_DIR" "$VAR_DIR"/{zk,derby,segments,segment-cache,task,indexing-logs,tmp,processing}
  rm -f "$PID_DIR"/*.pid
  choose_ports
  load_ports
  write_config
  DEADLINE=$((SECONDS + START_TIMEOUT_S))

  log "starting ZooKeeper on 127.0.0.1:$ZK_PORT"
  launch_zk
  WATCH=(zk)
  wait_until "ZooKeeper port $ZK_PORT" tcp_open "$ZK_PORT"

  log "starting coordinator+overlord on :$COORDINATOR_PORT (Derby on :$DERBY_PORT)"
  launch_druid "${DRUID_PROCS[0]}"
  WATCH+=(coordinator-overlord)
  wait_until "coordinator health on :$COORDINATOR_PORT" http_ok "http://127.0.0.1:$COORDINATOR_PORT/status/health"

  local spec
  for spec in "${DRUID_PROCS[@]:1}"; do launch_druid "$spec"; done
  WATCH+=(historical indexer broker)
  log "started historical :$HISTORICAL_PORT, indexer :$INDEXER_PORT, broker :$BROKER_PORT; waiting for readiness"
  wait_until "historical health on :$HISTORICAL_PORT" http_ok "http://127.0.0.1:$HISTORICAL_PORT/status/health"
  wait_until "indexer health on :$INDEXER_PORT" http_ok "http://127.0.0.1:$INDEXER_PORT/status/health"
  wait_until "overlord to see the indexer as a worker" overlord_has_worker
  wait_until "broker to answer SELECT 1 on :$BROKER_PORT" broker_sql_ok
  log "Druid $DRUID_VERSION up in $((SECONDS - t0))s: DRUID_URL=http://127.0.0.1:$BROKER_PORT" \
      "(coordinator+overlord http://127.0.0.1:$COORDINATOR_PORT)"
}

# SIGTERM a group of our processes, wait up to $2 seconds, then SIGKILL what is left.
stop_group() { # stop_group "names..." TIMEOUT
  local names timeout="$2" p pid pids=() stopped=() left
  read -r -a names <<<"$1"
  for p in "${names[@]}"; do
    pid="$(running_pid "$p")"
    [[ -n "$pid" ]] || continue
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid"); stopped+=("$p")
  done
  ((${#pids[@]} > 0)) || return 0
  log "stopping ${stopped[*]}"
  local deadline=$((SECONDS + timeout))
  while :; do
    left=()
    for pid in "${pids[@]}"; do alive "$pid" && left+=("$pid"); done
    ((${#left[@]} == 0)) && return 0
    if ((SECONDS >= deadline)); then
      log "still running after ${timeout}s, sending SIGKILL to pid(s) ${left[*]}"
      for pid in "${left[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
      sleep 1
      return 0
    fi
    sleep 0.3
  done
}

# Ordered: Druid processes unannounce themselves from ZooKeeper and the coordinator hosts
# Derby, so a Druid JVM whose ZooKeeper is already gone hangs in its shutdown hook
# (Curator retries). Hence: broker/indexer/historical, then coordinator, then ZooKeeper.
stop_all() {
  stop_group "broker indexer historical" 20
  stop_group "coordinator-overlord" 15
  stop_group "zk" 10
  rm -f "$PID_DIR"/*.pid 2>/dev/null || true
}

cmd_stop() {
  take_lock
  stop_all
}

cmd_status() {
  local p pid rc=0
  load_ports || { echo "druid: not started (no $PORTS_FILE)"; return 1; }
  for p in "${ALL_PROCS[@]}"; do
    pid="$(running_pid "$p")"
    if [[ -n "$pid" ]]; then echo "$p: running (pid $pid)"; else echo "$p: not running"; rc=1; fi
  done
  if ((rc == 0)) && broker_sql_ok; then
    echo "broker: answers SQL on http://127.0.0.1:$BROKER_PORT"
  else
    echo "broker: not answering SQL on http://127.0.0.1:$BROKER_PORT"; rc=1
  fi
  return $rc
}

cmd_env() {
  load_ports || die "druid not started (no $PORTS_FILE); run scripts/druid.sh start"
  echo "DRUID_URL=http://127.0.0.1:$BROKER_PORT"
  echo "DRUID_COORDINATOR_URL=http://127.0.0.1:$COORDINATOR_PORT"
}

cmd_reset() {
  take_lock
  stop_all
  rm -rf "$STATE_DIR"
  log "deleted $STATE_DIR"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  reset) cmd_reset ;;
  -h|--help|help) usage ;;
  *) usage; exit 2 ;;
esac
