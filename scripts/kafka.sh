#!/usr/bin/env bash
# Private single-node Apache Kafka (KRaft, combined broker+controller) for the
# Strata test suite, run from Maven Central jars; no Docker, no tarball.
#
#   scripts/kafka.sh start    resolve jars (first time only), format storage (first
#                             time only), start the broker, wait until it answers
#   scripts/kafka.sh stop     SIGTERM, wait up to 30s, then SIGKILL (data is kept)
#   scripts/kafka.sh status   exit 0 if running, 1 if not
#   scripts/kafka.sh env      print KAFKA_BROKERS=127.0.0.1:<port> to stdout
#   scripts/kafka.sh reset    stop and delete .it/kafka/ (data, config, logs)
#
# Environment:
#   STRATA_KAFKA_PORT      broker port (default: the previous port, else first free from 19092)
#   STRATA_KAFKA_VERSION   Kafka version on Maven Central (default 3.9.2, the newest 3.9.x)
#
# Files:
#   .cache/kafka-<version>/libs/   resolved jars; .complete marks a finished download
#   .it/kafka/kafka.pid            pid of the broker JVM (SIGSTOP/SIGCONT it to simulate a hang)
#   .it/kafka/port                 broker port;  .it/kafka/controller.port  KRaft controller port
#   .it/kafka/data/                log dirs + KRaft metadata (kept across stop/start)
#   .it/kafka/logs/server.log      broker log of the current run (previous run: server.log.prev)
#   .it/kafka/server.properties    generated on every start
#
# Why jars from Maven Central: Kafka is not packaged for npm or Debian bookworm.
# The broker is the Scala module org.apache.kafka:kafka_2.13; kafka-tools adds the
# CLI classes (TopicCommand, ConsoleProducer/Consumer) and, transitively, the
# slf4j->reload4j logging binding that core only has as compileOnly.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

KAFKA_VERSION="${STRATA_KAFKA_VERSION:-3.9.2}"
SLF4J_VERSION=1.7.36      # what Kafka 3.9 itself uses (gradle/dependencies.gradle)
RELOAD4J_VERSION=1.2.25
DEP_PLUGIN_VERSION=3.6.1  # pin maven-dependency-plugin; Maven 3.8's default is very old

CACHE_DIR="$REPO_ROOT/.cache/kafka-$KAFKA_VERSION"
LIBS_DIR="$CACHE_DIR/libs"
LIBS_MARKER="$LIBS_DIR/.complete"

STATE_DIR="${STRATA_IT_DIR:-$REPO_ROOT/.it}/kafka"
DATA_DIR="$STATE_DIR/data"
LOG_DIR="$STATE_DIR/logs"
LOG_FILE="$LOG_DIR/server.log"
PID_FILE="$STATE_DIR/kafka.pid"
PORT_FILE="$STATE_DIR/port"
CTRL_PORT_FILE="$STATE_DIR/controller.port"
CONFIG_FILE="$STATE_DIR/server.properties"
LOG4J_SERVER="$STATE_DIR/log4j.properties"
LOG4J_TOOLS="$STATE_DIR/log4j-tools.properties"
LOCK_FILE="${STRATA_IT_DIR:-$REPO_ROOT/.it}/.kafka.lock"   # outside STATE_DIR so "reset" can delete STATE_DIR while holding it

FIRST_PORT=19092
LAST_PORT=19192
START_TIMEOUT_S=90
STOP_TIMEOUT_S=30

# Broker heap kept small; tests need little. -XX:+ExitOnOutOfMemoryError makes an
# OOM a visible crash rather than a half-dead broker. preferIPv4Stack makes the
# listeners plain IPv4 sockets on 127.0.0.1 (not ::ffff:127.0.0.1 dual-stack ones).
SERVER_JAVA_OPTS=(-Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true)
# CLI tools (format, readiness check) start fast and small.
TOOL_JAVA_OPTS=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
  -Djava.net.preferIPv4Stack=true
  "-Dlog4j.configuration=file:$LOG4J_TOOLS")

SERVICE=kafka.sh
# shellcheck source=scripts/lib/service.sh
source "$SCRIPT_DIR/lib/service.sh"

owns_pid() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q "kafka.Kafka $CONFIG_FILE"; }

usage() {
  cat >&2 <<EOF
usage: scripts/kafka.sh start|stop|status|env|reset
  start   start Kafka $KAFKA_VERSION (KRaft, broker+controller) on 127.0.0.1; downloads jars once
  stop    stop it (SIGTERM, wait ${STOP_TIMEOUT_S}s, then SIGKILL); data is kept for the next start
  status  exit 0 if running
  env     print KAFKA_BROKERS=127.0.0.1:PORT
  reset   stop and delete $STATE_DIR
env: STRATA_KAFKA_PORT, STRATA_KAFKA_VERSION
state: $STATE_DIR/{kafka.pid,port,controller.port,logs/server.log,data/}
EOF
}

# First free port in [from, LAST_PORT], skipping $2 (the broker port, which is
# chosen but not bound yet when we pick the controller port).
first_free_port() {
  local from="$1" skip="${2:-}" p
  for ((p = from; p <= LAST_PORT; p++)); do
    [[ "$p" == "$skip" ]] && continue
    if ! port_in_use "$p"; then echo "$p"; return; fi
  done
  die "no free port in $from..$LAST_PORT"
}

# Broker port: STRATA_KAFKA_PORT, else the port of the previous run (clients that
# survive a stop/start keep working), else the first free port from 19092.
pick_broker_port() {
  if [[ -n "${STRATA_KAFKA_PORT:-}" ]]; then
    [[ "$STRATA_KAFKA_PORT" =~ ^[0-9]+$ ]] || die "STRATA_KAFKA_PORT must be a number, got '$STRATA_KAFKA_PORT'"
    port_in_use "$STRATA_KAFKA_PORT" && die "STRATA_KAFKA_PORT=$STRATA_KAFKA_PORT is already in use"
    echo "$STRATA_KAFKA_PORT"
    return
  fi
  local prev
  prev="$(cat "$PORT_FILE" 2>/dev/null || true)"
  if [[ -n "$prev" ]]; then
    if ! port_in_use "$prev"; then echo "$prev"; return; fi
    log "warning: previous broker port $prev is taken by another process; picking a new one"
  fi
  first_free_port "$FIRST_PORT"
}

# Controller port: keep the previous one (it is part of the static voter list),
# else the first free port after the broker port.
pick_controller_port() {
  local broker_port="$1" prev
  prev="$(cat "$CTRL_PORT_FILE" 2>/dev/null || true)"
  if [[ -n "$prev" && "$prev" != "$broker_port" ]] && ! port_in_use "$prev"; then
    echo "$prev"
    return
  fi
  first_free_port "$((broker_port + 1))" "$broker_port"
}

# ---------------------------------------------------------------------------
# Jars: resolve kafka_2.13 + kafka-tools + logging binding once into .cache/.
# ---------------------------------------------------------------------------
ensure_libs() {
  if [[ -f "$LIBS_MARKER" ]]; then
    log "using cached jars in $LIBS_DIR"
    return
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found (needed once to download Kafka jars)"
  log "resolving Kafka $KAFKA_VERSION jars from Maven Central into $LIBS_DIR (first run only)"
  mkdir -p "$CACHE_DIR"
  # Throw-away POM. connect-runtime is excluded from kafka-tools: it is only used
  # by the connect-plugin-path tool and drags in Jetty/Jersey (~40 jars).
  cat >"$CACHE_DIR/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.strata.it</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
      </exclusions>
    </dependency>
    <!-- Logging: core declares reload4j compileOnly; pin the binding explicitly. -->
    <dependency>
      <groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>$SLF4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>$RELOAD4J_VERSION</version>
    </dependency>
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>$DEP_PLUGIN_VERSION</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
EOF
  # Download into a temp dir and rename, so an interrupted run never leaves a
  # half-filled libs/ that looks complete.
  local tmp="$CACHE_DIR/libs.tmp.$$"
  rm -rf "$tmp"
  # mvn output goes to a file (its -q output is still noisy with colour codes);
  # we show the tail only on failure.
  if ! mvn -B -q -Dstyle.color=never -f "$CACHE_DIR/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$tmp" -DincludeScope=runtime >"$CACHE_DIR/mvn.log" 2>&1; then
    tail -n 40 "$CACHE_DIR/mvn.log" >&2 || true
    rm -rf "$tmp"
    die "mvn could not resolve Kafka $KAFKA_VERSION (full output: $CACHE_DIR/mvn.log)"
  fi
  ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after mvn"; }
  rm -rf "$LIBS_DIR"
  mv "$tmp" "$LIBS_DIR"
  touch "$LIBS_MARKER"
  log "resolved $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS_DIR" | cut -f1))"
}

# ---------------------------------------------------------------------------
# Config files (regenerated each start: ports may change, data does not).
# ---------------------------------------------------------------------------
write_configs() {
  local port="$1" ctrl_port="$2"
  mkdir -p "$DATA_DIR" "$LOG_DIR"

  # Broker log goes to stdout, which start() redirects to logs/server.log.
  cat >"$LOG4J_SERVER" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
# The request logger and state-change logger are chatty at INFO/TRACE.
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.controller=INFO
log4j.logger.org.apache.kafka.controller=INFO
EOF

  # CLI tools: only warnings, to stderr, so their stdout stays clean.
  cat >"$LOG4J_TOOLS" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF

  # Single node, combined roles, *static* voter list: with a static quorum a plain
  # "format -t ID" works (a dynamic quorum would need --standalone).
  # Everything binds 127.0.0.1, not "localhost": Node may resolve localhost to ::1.
  cat >"$CONFIG_FILE" <<EOF
# Generated by scripts/kafka.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctrl_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR

# Test-friendly defaults: one partition, RF 1, topics created on first use.
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
min.insync.replicas=1
# No 3s wait before the first consumer-group rebalance.
group.initial.rebalance.delay.ms=0

# After a crash (SIGKILL) the restarted controller refuses the broker's new
# registration until the old one's session expires (DUPLICATE_BROKER_REGISTRATION):
# default 9s. 4s keeps crash-restart tests quick; heartbeats every 0.5s keep a
# busy broker from being fenced by mistake.
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=500

# Few threads: a 2-core machine also runs the test suite.
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
log.cleaner.threads=1
EOF
}

# Format the storage only once: meta.properties exists after a successful format.
# A later start reuses data/ and therefore keeps topics, offsets and messages.
ensure_formatted() {
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    log "storage already formatted (cluster id $(sed -n 's/^cluster.id=//p' "$DATA_DIR/meta.properties"))"
    return
  fi
  local cluster_id
  cluster_id="$(java "${TOOL_JAVA_OPTS[@]}" -cp "$LIBS_DIR/*" kafka.tools.StorageTool random-uuid | tail -n1)"
  [[ -n "$cluster_id" ]] || die "StorageTool random-uuid printed nothing"
  log "formatting storage in $DATA_DIR with new cluster id $cluster_id"
  java "${TOOL_JAVA_OPTS[@]}" -cp "$LIBS_DIR/*" kafka.tools.StorageTool \
    format -t "$cluster_id" -c "$CONFIG_FILE" --ignore-formatted >&2 \
    || die "kafka storage format failed"
}

# Port open + "Kafka Server started" is the broker's own readiness signal; a
# TopicCommand --list then proves a client can fetch metadata through the listener.
wait_ready() {
  local pid="$1" port="$2"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  while :; do
    if ! alive "$pid"; then
      log "broker exited during startup; last lines of $LOG_FILE:"
      tail -n 40 "$LOG_FILE" >&2 || true
      rm -f "$PID_FILE"
      die "kafka failed to start"
    fi
    if grep -q "Kafka Server started" "$LOG_FILE" 2>/dev/null && port_in_use "$port"; then
      break
    fi
    if ((SECONDS >= deadline)); then
      log "last lines of $LOG_FILE:"
      tail -n 40 "$LOG_FILE" >&2 || true
      die "kafka not ready within ${START_TIMEOUT_S}s (pid $pid still running; 'scripts/kafka.sh stop' to clean up)"
    fi
    sleep 0.25
  done
  local left=$((deadline - SECONDS))
  ((left > 5)) || left=5
  if ! timeout "$left" java "${TOOL_JAVA_OPTS[@]}" -cp "$LIBS_DIR/*" org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "127.0.0.1:$port" --list >/dev/null; then
    tail -n 40 "$LOG_FILE" >&2 || true
    die "broker started but 'kafka-topics --list' failed against 127.0.0.1:$port"
  fi
}

cmd_start() {
  take_lock
  local pid port ctrl_port t0=$SECONDS
  pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    log "already running: pid $pid on 127.0.0.1:$(cat "$PORT_FILE" 2>/dev/null || echo '?')"
    return 0
  fi
  command -v java >/dev/null 2>&1 || die "java not found (Java 17 needed)"
  rm -f "$PID_FILE"
  ensure_libs

  port="$(pick_broker_port)"
  ctrl_port="$(pick_controller_port "$port")"
  write_configs "$port" "$ctrl_port"
  ensure_formatted
  echo "$port" >"$PORT_FILE"
  echo "$ctrl_port" >"$CTRL_PORT_FILE"

  [[ -f "$LOG_FILE" ]] && mv -f "$LOG_FILE" "$LOG_FILE.prev"
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$port (controller 127.0.0.1:$ctrl_port)"
  # setsid + nohup: the broker outlives this script and is not killed by a Ctrl-C
  # sent to the caller's process group. All three stdio fds are redirected so a
  # caller capturing our output (execSync, $(...)) does not wait for the broker.
  # No JMX port is opened (that only happens via kafka-run-class.sh's JMX_PORT).
  setsid nohup java "${SERVER_JAVA_OPTS[@]}" \
    "-Dlog4j.configuration=file:$LOG4J_SERVER" "-Dkafka.logs.dir=$LOG_DIR" \
    -cp "$LIBS_DIR/*" kafka.Kafka "$CONFIG_FILE" \
    </dev/null >>"$LOG_FILE" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"

  wait_ready "$pid" "$port"
  log "started: pid $pid on 127.0.0.1:$port in $((SECONDS - t0))s"
}

cmd_stop() {
  take_lock
  stop_server "next start will run log recovery"
}

cmd_env() {
  [[ -f "$PORT_FILE" ]] || die "no port file ($PORT_FILE); run 'scripts/kafka.sh start' first"
  [[ -n "$(running_pid)" ]] || log "warning: kafka is not running; printing the last port anyway"
  echo "KAFKA_BROKERS=127.0.0.1:$(cat "$PORT_FILE")"
}

cmd_reset() {
  cmd_stop
  log "deleting $STATE_DIR"
  rm -rf "$STATE_DIR"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  reset) cmd_reset ;;
  -h | --help | help) usage ;;
  *) usage; exit 2 ;;
esac
