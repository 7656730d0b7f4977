# shellcheck shell=bash disable=SC2034  # NODE_*, DATA, LOGS, CONF, PIDFILE are for kafka.sh
# The nodes of the Kafka cluster of kafka.sh (sourced by it, after its settings): where each listens and
# keeps its files, its configuration, its storage and its process. Node i is node id i, on kafka.sh's
# ports + 2·(i−1); node 1's files are where a single node's are, node i's carry "-i".

FORMATTED_FOR="$HOME_DIR/brokers"  # how many nodes the storage was formatted for (absent: one)
NODES=()
VOTERS=()
BOOTSTRAP_ADDRESSES=()
for ((i = 1; i <= BROKERS; i++)); do
  NODES+=("$i")
  VOTERS+=("$i@127.0.0.1:$((CONTROLLER_PORT + 2 * (i - 1)))")
  BOOTSTRAP_ADDRESSES+=("127.0.0.1:$((PORT + 2 * (i - 1)))")
done
BOOTSTRAP="$(IFS=,; echo "${BOOTSTRAP_ADDRESSES[*]}")"

node() {  # node <i>: node i's NODE, NODE_PORT, NODE_CONTROLLER_PORT, DATA, LOGS, CONF and PIDFILE
  NODE="$1"
  local suffix=""
  ((NODE == 1)) || suffix="-$NODE"
  NODE_PORT=$((PORT + 2 * (NODE - 1)))
  NODE_CONTROLLER_PORT=$((CONTROLLER_PORT + 2 * (NODE - 1)))
  DATA="$HOME_DIR/data$suffix"
  LOGS="$HOME_DIR/logs$suffix"
  CONF="$HOME_DIR/server$suffix.properties"
  PIDFILE="$HOME_DIR/kafka$suffix.pid"
}

known_nodes() {  # the nodes of MARKET_KAFKA_BROKERS, and any other with a pid file or data (a larger cluster before)
  local i
  for ((i = 1; i <= 9; i++)); do
    if ((i <= BROKERS)) || [[ -e "$HOME_DIR/kafka-$i.pid" || -e "$HOME_DIR/data-$i" ]]; then echo "$i"; fi
  done
}

require_distinct_ports() {
  local i ports
  ports="$(for ((i = 0; i < BROKERS; i++)); do echo $((PORT + 2 * i)) $((CONTROLLER_PORT + 2 * i)); done | tr ' ' '\n')"
  [[ "$(sort -u <<<"$ports" | wc -l)" == "$((2 * BROKERS))" ]] ||
    die "MARKET_KAFKA_PORT=$PORT and MARKET_KAFKA_CONTROLLER_PORT=$CONTROLLER_PORT overlap for $BROKERS nodes (each node takes both + 2·(i−1))"
}

kafka_pid() {
  local pid
  pid="$(read_pid "$PIDFILE")"
  pid_matches "$pid" "kafka.Kafka $CONF" && echo "$pid"
}

render_config() {  # node NODE's server.properties
  local listener=PLAINTEXT
  if [[ "$SASL" == 1 ]]; then
    [[ -n "$KAFKA_PASSWORD" ]] || die "MARKET_KAFKA_SASL=1 needs MARKET_KAFKA_PASSWORD"
    listener=SASL_PLAINTEXT
  fi
  mkdir -p "$HOME_DIR"
  KAFKA_NODE_ID="$NODE" MARKET_KAFKA_PORT="$NODE_PORT" MARKET_KAFKA_CONTROLLER_PORT="$NODE_CONTROLLER_PORT" \
    KAFKA_QUORUM_VOTERS="$(IFS=,; echo "${VOTERS[*]}")" KAFKA_DATA_DIR="$DATA" KAFKA_LISTENER="$listener" \
    KAFKA_REPLICATION_FACTOR="$REPLICATION" KAFKA_MIN_INSYNC_REPLICAS="$MIN_ISR" \
    render_template "$DEPLOY/kafka/server.properties" "$CONF" KAFKA_NODE_ID MARKET_KAFKA_PORT \
    MARKET_KAFKA_CONTROLLER_PORT KAFKA_QUORUM_VOTERS KAFKA_DATA_DIR KAFKA_LISTENER KAFKA_REPLICATION_FACTOR \
    KAFKA_MIN_INSYNC_REPLICAS
  if [[ "$SASL" == 1 ]]; then
    (umask 077; MARKET_KAFKA_USERNAME="$KAFKA_USERNAME" MARKET_KAFKA_PASSWORD="$KAFKA_PASSWORD" \
      render_template "$DEPLOY/kafka/sasl.properties" "$CONF.sasl" MARKET_KAFKA_USERNAME MARKET_KAFKA_PASSWORD)
    cat "$CONF.sasl" >>"$CONF"
    rm -f "$CONF.sasl"
    chmod 600 "$CONF"
  fi
}

require_same_size() {  # the nodes' storage, if any, was formatted for MARKET_KAFKA_BROKERS nodes
  local formatted_for
  formatted_for="$(cat "$FORMATTED_FOR" 2>/dev/null || echo 1)"
  if compgen -G "$HOME_DIR/data*/meta.properties" >/dev/null && [[ "$formatted_for" != "$BROKERS" ]]; then
    die "the storage was formatted for $formatted_for node(s), MARKET_KAFKA_BROKERS=$BROKERS: '$0 reset' first (it wipes the data)"
  fi
}

ensure_formatted() {  # node NODE's storage: formatted once, with the cluster's id (and SCRAM credentials)
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
  log "formatting node $NODE's storage in $DATA (cluster id $(cat "$CLUSTER_ID_FILE"))"
  local scram=()
  # Every node gets the credentials: the brokers also authenticate to each other with them.
  [[ "$SASL" == 1 ]] && scram=(--add-scram "SCRAM-SHA-512=[name=$KAFKA_USERNAME,password=$KAFKA_PASSWORD]")
  run_tool kafka.tools.StorageTool format -t "$(cat "$CLUSTER_ID_FILE")" -c "$CONF" "${scram[@]}" >/dev/null ||
    die "StorageTool format failed for node $NODE"
  echo "$BROKERS" >"$FORMATTED_FOR"
  if [[ "$SASL" == 1 ]]; then echo "$KAFKA_USERNAME" >"$HOME_DIR/scram-users"; else rm -f "$HOME_DIR/scram-users"; fi
}

launch() {  # node NODE, in the background
  mkdir -p "$LOGS"
  # shellcheck disable=SC2086  # HEAP_OPTS and JIT_OPTS are lists of JVM flags
  setsid nohup java $HEAP_OPTS $JIT_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dkafka.logs.dir="$LOGS" -Dlog4j.configuration="file:$DEPLOY/kafka/log4j.properties" \
    -cp "$LIB/*" kafka.Kafka "$CONF" </dev/null >>"$LOGS/kafka.out" 2>&1 &
  echo $! >"$PIDFILE"
}

broker_up() {  # node NODE accepts clients
  # Alive, not "our command line": until the background child has exec'd java, /proc shows the shell's.
  kill -0 "$(read_pid "$PIDFILE")" 2>/dev/null || die "node $NODE exited during start-up; see $LOGS/kafka.out and $LOGS/server.log"
  port_open "$NODE_PORT"
}

fewer_alive_than() {  # fewer_alive_than <n> <pid...>
  local n="$1" pid alive=0
  shift
  for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
  ((alive < n))
}
