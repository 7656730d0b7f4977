#!/usr/bin/env bash
# Single-node Apache Kafka 3.9 (KRaft, broker+controller) for the distributed mode.
# usage: kafka.sh {start|stop|status|reset|topics|lag}
set -euo pipefail

SERVICE=kafka
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${MARKET_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${MARKET_KAFKA_CONTROLLER_PORT:-9093}"
HEAP_OPTS="${MARKET_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
# The client JIT only (C1): this broker shares two cores with eight other processes, and C2's compiling
# cost more CPU than its faster code saved (docs/performance.md: 6.8 → 3.8 ms of broker CPU per order).
JIT_OPTS="${MARKET_KAFKA_JIT_OPTS--XX:TieredStopAtLevel=1}"
START_TIMEOUT="${MARKET_KAFKA_START_TIMEOUT:-90}"
TOPICS=(order.events payment.events product.events)
TOPIC_PARTITIONS="${MARKET_KAFKA_PARTITIONS:-12}"  # keyed by order id: up to 12 replicas of a consumer share them

# MARKET_KAFKA_SASL=1: the clients' listener takes SASL/SCRAM-SHA-512 only (deploy/kafka/sasl.properties),
# for the user MARKET_KAFKA_USERNAME (market) with MARKET_KAFKA_PASSWORD (`market up` passes both; the
# services get them too). The credentials are made when the storage is formatted: `reset` to switch.
SASL="${MARKET_KAFKA_SASL:-0}"
KAFKA_USERNAME="${MARKET_KAFKA_USERNAME:-market}"
KAFKA_PASSWORD="${MARKET_KAFKA_PASSWORD:-}"

POM="$DEPLOY/kafka/pom.xml"
HOME_DIR="$STATE/kafka"
LIB="$HOME_DIR/lib"
DATA="$HOME_DIR/data"
LOGS="$HOME_DIR/logs"
CONF="$HOME_DIR/server.properties"
PIDFILE="$HOME_DIR/kafka.pid"
CLUSTER_ID_FILE="$HOME_DIR/cluster.id"
BOOTSTRAP="127.0.0.1:$PORT"

kafka_pid() {
  local pid
  pid="$(read_pid "$PIDFILE")"
  pid_matches "$pid" "kafka.Kafka $CONF" && echo "$pid"
}

run_tool() {  # run_tool <main-class> <args...>: a Kafka CLI class from our classpath
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j.configuration="file:$DEPLOY/kafka/tools-log4j.properties" \
    -cp "$LIB/*" "$@"
}

client_config() {  # the admin tools' connection settings: --command-config <file> (SASL credentials or none)
  local file="$HOME_DIR/client.properties"
  if [[ "$SASL" == 1 ]]; then
    (umask 077; printf '%s\n' "security.protocol=SASL_PLAINTEXT" "sasl.mechanism=SCRAM-SHA-512" \
      "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$KAFKA_USERNAME\" password=\"$KAFKA_PASSWORD\";" >"$file")
  else
    : >"$file"
  fi
  echo "$file"
}

ensure_jars() {
  local sum
  sum="$(sha256sum "$POM" | cut -d' ' -f1)"
  if [[ -f "$LIB/.pom.sha256" && "$(cat "$LIB/.pom.sha256")" == "$sum" ]]; then
    return 0
  fi
  require_cmd mvn "install Maven (apt-get install -y maven) to fetch the Kafka jars"
  log "fetching Kafka jars from Maven Central into $LIB"
  rm -rf "$LIB.tmp"
  mvn -B -f "$POM" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB.tmp" \
    >"$HOME_DIR/mvn.log" 2>&1 || { tail -n 30 "$HOME_DIR/mvn.log" >&2; die "mvn dependency:copy-dependencies failed; see $HOME_DIR/mvn.log"; }
  echo "$sum" >"$LIB.tmp/.pom.sha256"
  rm -rf "$LIB"
  mv "$LIB.tmp" "$LIB"
  log "$(find "$LIB" -name '*.jar' | wc -l) jars in $LIB"
}

render_config() {
  local listener=PLAINTEXT
  if [[ "$SASL" == 1 ]]; then
    [[ -n "$KAFKA_PASSWORD" ]] || die "MARKET_KAFKA_SASL=1 needs MARKET_KAFKA_PASSWORD"
    listener=SASL_PLAINTEXT
  fi
  MARKET_KAFKA_PORT="$PORT" MARKET_KAFKA_CONTROLLER_PORT="$CONTROLLER_PORT" KAFKA_DATA_DIR="$DATA" \
    KAFKA_LISTENER="$listener" render_template "$DEPLOY/kafka/server.properties" "$CONF" \
    MARKET_KAFKA_PORT MARKET_KAFKA_CONTROLLER_PORT KAFKA_DATA_DIR KAFKA_LISTENER
  if [[ "$SASL" == 1 ]]; then
    (umask 077; MARKET_KAFKA_USERNAME="$KAFKA_USERNAME" MARKET_KAFKA_PASSWORD="$KAFKA_PASSWORD" \
      render_template "$DEPLOY/kafka/sasl.properties" "$CONF.sasl" MARKET_KAFKA_USERNAME MARKET_KAFKA_PASSWORD)
    cat "$CONF.sasl" >>"$CONF"
    rm -f "$CONF.sasl"
    chmod 600 "$CONF"
  fi
}

ensure_formatted() {
  if [[ -f "$DATA/meta.properties" ]]; then
    if [[ "$SASL" == 1 && ! -f "$HOME_DIR/scram-users" ]]; then
      die "MARKET_KAFKA_SASL=1, but the storage was formatted without SCRAM credentials: '$0 reset' first"
    fi
    return 0
  fi
  if [[ ! -s "$CLUSTER_ID_FILE" ]]; then
    run_tool kafka.tools.StorageTool random-uuid | tail -n1 >"$CLUSTER_ID_FILE.tmp"
    grep -qE '^[A-Za-z0-9_-]{22}$' "$CLUSTER_ID_FILE.tmp" || die "StorageTool random-uuid returned no cluster id"
    mv "$CLUSTER_ID_FILE.tmp" "$CLUSTER_ID_FILE"
  fi
  log "formatting storage in $DATA (cluster id $(cat "$CLUSTER_ID_FILE"))"
  local scram=()
  [[ "$SASL" == 1 ]] && scram=(--add-scram "SCRAM-SHA-512=[name=$KAFKA_USERNAME,password=$KAFKA_PASSWORD]")
  run_tool kafka.tools.StorageTool format -t "$(cat "$CLUSTER_ID_FILE")" -c "$CONF" "${scram[@]}" >/dev/null ||
    die "StorageTool format failed"
  if [[ "$SASL" == 1 ]]; then echo "$KAFKA_USERNAME" >"$HOME_DIR/scram-users"; else rm -f "$HOME_DIR/scram-users"; fi
}

launch() {
  mkdir -p "$LOGS"
  # shellcheck disable=SC2086  # HEAP_OPTS and JIT_OPTS are lists of JVM flags
  setsid nohup java $HEAP_OPTS $JIT_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dkafka.logs.dir="$LOGS" -Dlog4j.configuration="file:$DEPLOY/kafka/log4j.properties" \
    -cp "$LIB/*" kafka.Kafka "$CONF" </dev/null >>"$LOGS/kafka.out" 2>&1 &
  echo $! >"$PIDFILE"
}

broker_up() {
  # Alive, not "our command line": until the background child has exec'd java, /proc shows the shell's.
  kill -0 "$(read_pid "$PIDFILE")" 2>/dev/null || die "Kafka exited during start-up; see $LOGS/kafka.out and $LOGS/server.log"
  port_open "$PORT"
}

create_topics() {
  local topic
  for topic in "${TOPICS[@]}"; do
    run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --command-config "$(client_config)" --create --if-not-exists \
      --topic "$topic" --partitions "$TOPIC_PARTITIONS" --replication-factor 1 >/dev/null 2>>"$LOGS/tools.err" ||
      return 1
  done
}

topics_ready() {  # every topic exists with its partitions (the broker may be up before the controller serves metadata)
  local described topic
  described="$(run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --command-config "$(client_config)" --describe \
    --topic "$(IFS='|'; echo "${TOPICS[*]}")" 2>>"$LOGS/tools.err")" || return 1
  for topic in "${TOPICS[@]}"; do
    grep -qE "^Topic: $topic\s.*PartitionCount: $TOPIC_PARTITIONS\b" <<<"$described" || return 1
  done
}

cmd_start() {
  local pid
  if pid="$(kafka_pid)"; then
    log "already running (pid $pid) on $BOOTSTRAP"
    return 0
  fi
  require_cmd java "install a Java 17+ runtime (apt-get install -y openjdk-17-jre-headless)"
  require_port_free "$PORT" "MARKET_KAFKA_PORT"
  require_port_free "$CONTROLLER_PORT" "MARKET_KAFKA_CONTROLLER_PORT"
  ensure_state_dir
  mkdir -p "$HOME_DIR" "$LOGS"
  ensure_jars
  render_config
  ensure_formatted

  log "starting broker+controller on $BOOTSTRAP (controller 127.0.0.1:$CONTROLLER_PORT)"
  local started=$SECONDS
  launch
  wait_until "$START_TIMEOUT" broker_up || die "broker did not open port $PORT within ${START_TIMEOUT}s; see $LOGS/server.log"
  wait_until "$START_TIMEOUT" create_topics || die "could not create topics within ${START_TIMEOUT}s; see $LOGS/tools.err"
  topics_ready || die "topics ${TOPICS[*]} missing or without $TOPIC_PARTITIONS partitions (reset if they were created differently); see $LOGS/tools.err"
  log "ready in $((SECONDS - started))s: $BOOTSTRAP, topics ${TOPICS[*]} ($TOPIC_PARTITIONS partitions), pid $(kafka_pid)"
}

cmd_stop() {
  local pid
  if ! pid="$(kafka_pid)"; then
    log "not running"
    rm -f "$PIDFILE"
    return 0
  fi
  log "stopping (pid $pid)"
  stop_pid "$pid" 60
  rm -f "$PIDFILE"
  log "stopped"
}

cmd_status() {
  local pid
  if ! pid="$(kafka_pid)"; then
    log "stopped"
    return 3
  fi
  if port_open "$PORT"; then
    log "running (pid $pid): broker $BOOTSTRAP, controller 127.0.0.1:$CONTROLLER_PORT"
  else
    log "process $pid alive but port $PORT not answering (starting or unhealthy)"
    return 1
  fi
  log "data $DATA, logs $LOGS/server.log"
}

cmd_reset() {
  cmd_stop
  rm -rf "$DATA" "$CLUSTER_ID_FILE" "$HOME_DIR/scram-users"
  log "data wiped (jars kept); run '$0 start' for a fresh, empty cluster"
}

cmd_topics() {
  kafka_pid >/dev/null || die "not running"
  run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --command-config "$(client_config)" --describe --exclude-internal
}

cmd_lag() {
  kafka_pid >/dev/null || die "not running"
  run_tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$BOOTSTRAP" \
    --command-config "$(client_config)" --describe --all-groups
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  topics) cmd_topics ;;
  lag) cmd_lag ;;
  *) usage_and_exit "start|stop|status|reset|topics|lag" ;;
esac
