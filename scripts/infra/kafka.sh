#!/usr/bin/env bash
# Apache Kafka 3.9 in KRaft mode for the distributed mode: MARKET_KAFKA_BROKERS nodes (default 1), each a
# broker and a controller in one JVM, with its own node id, ports, data, logs and pid file.
# usage: kafka.sh {start|stop|status|reset|topics|lag|check}
set -euo pipefail

SERVICE=kafka
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Node 1's ports; node i listens on them + 2·(i−1) (three nodes: brokers 9092, 9094, 9096, controllers 9093,
# 9095, 9097), and keeps its files beside node 1's with "-i" (data-2, kafka-2.pid, …; kafka-nodes.sh).
PORT="${MARKET_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${MARKET_KAFKA_CONTROLLER_PORT:-9093}"
BROKERS="${MARKET_KAFKA_BROKERS:-1}"
[[ "$BROKERS" =~ ^[1-9]$ ]] || die "MARKET_KAFKA_BROKERS must be a number of nodes from 1 to 9, got '$BROKERS'"
# Copies of each partition, and how many must hold a record before acks=all acknowledges it: from three
# nodes on 3 and 2, so one node may fail and writes go on without a record ever held by one copy alone.
REPLICATION=$((BROKERS < 3 ? BROKERS : 3))
MIN_ISR=$((REPLICATION == 3 ? 2 : 1))
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
CLUSTER_ID_FILE="$HOME_DIR/cluster.id"
TOOLS_ERR="$HOME_DIR/logs/tools.err"  # the CLI tools' errors while `start` polls the cluster

# shellcheck source-path=SCRIPTDIR source=kafka-nodes.sh
source "$(dirname "${BASH_SOURCE[0]}")/kafka-nodes.sh"

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

topic_tool() {  # topic_tool <TopicCommand args...>: against the whole cluster
  run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --command-config "$(client_config)" "$@"
}

create_topics() {  # every topic, on REPLICATION nodes (fails until that many brokers have registered)
  local topic
  for topic in "${TOPICS[@]}"; do
    topic_tool --create --if-not-exists --topic "$topic" --partitions "$TOPIC_PARTITIONS" \
      --replication-factor "$REPLICATION" >/dev/null 2>>"$TOOLS_ERR" || return 1
  done
}

topics_ready() {  # every topic exists with its partitions and replicas (the broker may be up before the controller serves metadata)
  local described topic
  described="$(topic_tool --describe --topic "$(IFS='|'; echo "${TOPICS[*]}")" 2>>"$TOOLS_ERR")" || return 1
  for topic in "${TOPICS[@]}"; do
    grep -qE "^Topic: $topic\s.*PartitionCount: $TOPIC_PARTITIONS\s.*ReplicationFactor: $REPLICATION\b" <<<"$described" ||
      return 1
  done
}

fully_replicated() {  # every partition's replicas are all in sync (a node just started has caught up)
  ((REPLICATION == 1)) && return 0
  local lagging
  lagging="$(topic_tool --describe --under-replicated-partitions --topic "$(IFS='|'; echo "${TOPICS[*]}")" 2>>"$TOOLS_ERR")" ||
    return 1
  ! grep -q "Partition:" <<<"$lagging"
}

cmd_start() {
  local i pids=() starting=()
  require_distinct_ports
  require_same_size
  for i in "${NODES[@]}"; do
    node "$i"
    kafka_pid >/dev/null || starting+=("$i")
  done
  if ((${#starting[@]} == 0)); then
    log "already running ($BROKERS node(s)) on $BOOTSTRAP"
    return 0
  fi
  require_cmd java "install a Java 17+ runtime (apt-get install -y openjdk-17-jre-headless)"
  for i in "${starting[@]}"; do
    node "$i"
    require_port_free "$NODE_PORT" "MARKET_KAFKA_PORT, node $i"
    require_port_free "$NODE_CONTROLLER_PORT" "MARKET_KAFKA_CONTROLLER_PORT, node $i"
  done
  ensure_state_dir
  mkdir -p "$HOME_DIR/logs"
  ensure_jars
  for i in "${starting[@]}"; do
    node "$i"
    render_config
    ensure_formatted
  done

  log "starting node(s) ${starting[*]} of $BROKERS (broker+controller each) on $BOOTSTRAP"
  local started=$SECONDS
  for i in "${starting[@]}"; do node "$i"; launch; done
  for i in "${starting[@]}"; do
    node "$i"
    wait_until "$START_TIMEOUT" broker_up || die "node $i did not open port $NODE_PORT within ${START_TIMEOUT}s; see $LOGS/server.log"
  done
  local listening=$((SECONDS - started))
  # A restart finds its topics in place: one describe (one JVM) rather than a create per topic, which on two
  # busy cores cost tens of seconds each.
  topics_ready || wait_until "$START_TIMEOUT" create_topics || die "could not create topics within ${START_TIMEOUT}s; see $TOOLS_ERR"
  topics_ready || die "topics ${TOPICS[*]} missing or without $TOPIC_PARTITIONS partitions and $REPLICATION replicas (reset if they were created differently); see $TOOLS_ERR"
  wait_until "$START_TIMEOUT" fully_replicated || die "partitions still under-replicated after ${START_TIMEOUT}s; see '$0 topics' and the nodes' server.log"
  for i in "${NODES[@]}"; do node "$i"; pids+=("$(kafka_pid)"); done
  log "ready in $((SECONDS - started))s (listening after ${listening}s): $BOOTSTRAP, topics ${TOPICS[*]} ($TOPIC_PARTITIONS partitions, replication factor $REPLICATION, min.insync.replicas $MIN_ISR), pid(s) ${pids[*]}"
}

cmd_stop() {
  local i pid pids=()
  for i in $(known_nodes); do
    node "$i"
    if pid="$(kafka_pid)"; then pids+=("$pid"); fi
  done
  if ((${#pids[@]} == 0)); then
    log "not running"
  else
    log "stopping (pid(s) ${pids[*]})"
    # All at once, so that each broker hands its partitions over while the controllers still have a quorum.
    # A node still up once most have exited would wait minutes for a quorum that is gone: 15 s, then
    # SIGKILL (its records are in the page cache and on the other nodes; the next start recovers its log).
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait_until 60 fewer_alive_than "$((${#pids[@]} / 2 + 1))" "${pids[@]}" || true
    for pid in "${pids[@]}"; do stop_pid "$pid" 15; done
    log "stopped"
  fi
  for i in $(known_nodes); do node "$i"; rm -f "$PIDFILE"; done
}

cmd_status() {  # 0: every node answers; 1: some node stopped or not answering; 3: all stopped
  local i pid answering=0 silent=0 stopped=0
  for i in $(known_nodes); do
    node "$i"
    if ! pid="$(kafka_pid)"; then
      stopped=$((stopped + 1))
      ((BROKERS == 1)) || log "node $i stopped"
    elif port_open "$NODE_PORT"; then
      answering=$((answering + 1))
      log "running (pid $pid): node $i, broker 127.0.0.1:$NODE_PORT, controller 127.0.0.1:$NODE_CONTROLLER_PORT"
    else
      silent=$((silent + 1))
      log "node $i: process $pid alive but port $NODE_PORT not answering (starting or unhealthy)"
    fi
  done
  if ((answering + silent == 0)); then
    log "stopped"
    return 3
  fi
  ((silent + stopped == 0)) || return 1
  log "data $HOME_DIR/data*, logs $HOME_DIR/logs*/server.log"
}

cmd_reset() {
  cmd_stop
  rm -rf "$HOME_DIR"/data "$HOME_DIR"/data-* "$CLUSTER_ID_FILE" "$FORMATTED_FOR" "$HOME_DIR/scram-users"
  log "data wiped (jars kept); run '$0 start' for a fresh, empty cluster"
}

cmd_check() {  # render every node's configuration, without starting anything (no Java needed)
  local i
  require_distinct_ports
  ensure_state_dir
  for i in "${NODES[@]}"; do
    node "$i"
    render_config
    log "node $i: broker 127.0.0.1:$NODE_PORT, controller 127.0.0.1:$NODE_CONTROLLER_PORT, data $DATA, config $CONF"
  done
  log "quorum $(IFS=,; echo "${VOTERS[*]}"), replication factor $REPLICATION, min.insync.replicas $MIN_ISR"
}

any_running() {
  local i
  for i in $(known_nodes); do
    node "$i"
    kafka_pid >/dev/null && return 0
  done
  die "not running"
}

cmd_topics() {
  any_running
  topic_tool --describe --exclude-internal
}

cmd_lag() {
  any_running
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
  check) cmd_check ;;
  *) usage_and_exit "start|stop|status|reset|topics|lag|check" ;;
esac
