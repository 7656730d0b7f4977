#!/usr/bin/env bash
# Our own MariaDB instance (one database per service) for the distributed mode.
# usage: mariadb.sh {start|stop|status|reset}
set -euo pipefail

SERVICE=mariadb
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${MARKET_MYSQL_PORT:-3306}"
APP_PASSWORD="${MARKET_MYSQL_PASSWORD:-market}"
START_TIMEOUT="${MARKET_MYSQL_START_TIMEOUT:-60}"
DATABASES=(market_member market_product market_order market_payment market_notification market_reporting)

HOME_DIR="$STATE/mariadb"
DATA="$HOME_DIR/data"
LOGS="$HOME_DIR/logs"
CNF="$HOME_DIR/my.cnf"
SOCKET="$HOME_DIR/mysqld.sock"
PIDFILE="$HOME_DIR/mysqld.pid"

first_cmd() { local c; for c in "$@"; do command -v "$c" >/dev/null 2>&1 && { echo "$c"; return 0; }; done; return 1; }

# Debian keeps the server binary in /usr/sbin, which is not on every PATH.
server_binary() { first_cmd mariadbd mysqld /usr/sbin/mariadbd /usr/sbin/mysqld; }

ensure_installed() {
  if ! server_binary >/dev/null || ! first_cmd mariadb mysql >/dev/null; then
    apt_install mariadb-server mariadb-client
    disable_system_service mariadb
  fi
  SERVER="$(server_binary)" || die "mariadbd not found even after installing mariadb-server"
  CLIENT="$(first_cmd mariadb mysql)" || die "mariadb client not found"
  ADMIN="$(first_cmd mariadb-admin mysqladmin)" || die "mariadb-admin not found"
  INSTALL_DB="$(first_cmd mariadb-install-db mysql_install_db)" || die "mariadb-install-db not found"
}

server_pid() {
  local pid
  pid="$(read_pid "$PIDFILE")"
  pid_matches "$pid" "--defaults-file=$CNF" && echo "$pid"
}

as_root() { "${CLIENT:-mariadb}" --defaults-file="$CNF" --protocol=SOCKET -uroot; }

sql_string() { local s="${1//\\/\\\\}"; printf "'%s'" "${s//\'/\\\'}"; }

render_config() {
  ((${#SOCKET} < 108)) || die "socket path $SOCKET is too long for a unix socket; set a shorter MARKET_STATE_DIR"
  mkdir -p "$DATA" "$LOGS" "$HOME_DIR/tmp"
  MARIADB_HOME="$HOME_DIR" MARKET_MYSQL_PORT="$PORT" \
    render_template "$DEPLOY/mariadb/my.cnf.template" "$CNF" MARIADB_HOME MARKET_MYSQL_PORT
}

ensure_datadir() {
  [[ -d "$DATA/mysql" ]] && return 0
  log "initialising data directory $DATA"
  # normal auth: root with an empty password, whatever the OS user; bootstrap_sql limits it to our socket.
  "$INSTALL_DB" --defaults-file="$CNF" --user=root --auth-root-authentication-method=normal \
    --skip-test-db >"$LOGS/install-db.log" 2>&1 || die "mariadb-install-db failed; see $LOGS/install-db.log"
}

launch() {
  setsid nohup "$SERVER" --defaults-file="$CNF" --user=root </dev/null >>"$LOGS/mariadbd.out" 2>&1 &
  LAUNCHED_PID=$!
}

alive() {
  # mariadb-admin ping succeeds as soon as the server answers, even when the login itself is refused.
  "$ADMIN" --no-defaults --protocol=TCP -h127.0.0.1 -P"$PORT" -umarket --connect-timeout=2 ping >/dev/null 2>&1
}

still_starting() {
  kill -0 "$LAUNCHED_PID" 2>/dev/null || die "mariadbd exited during start-up; see $LOGS/mariadb.err"
  alive
}

bootstrap_sql() {
  local pw db host
  pw="$(sql_string "$APP_PASSWORD")"
  # install-db also creates password-less root@127.0.0.1/::1/<hostname>; keep root on the socket only.
  echo "DELETE FROM mysql.global_priv WHERE User='root' AND Host<>'localhost'; FLUSH PRIVILEGES;"
  for db in "${DATABASES[@]}"; do
    echo "CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
  done
  for host in 127.0.0.1 localhost; do
    echo "CREATE USER IF NOT EXISTS 'market'@'$host' IDENTIFIED BY $pw;"
    echo "ALTER USER 'market'@'$host' IDENTIFIED BY $pw;"
    echo "GRANT ALL PRIVILEGES ON \`market\\_%\`.* TO 'market'@'$host';"
  done
}

app_login_works() {
  MYSQL_PWD="$APP_PASSWORD" "$CLIENT" --no-defaults --protocol=TCP -h127.0.0.1 -P"$PORT" -umarket -N -e \
    "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE 'market\\_%'" 2>/dev/null
}

cmd_start() {
  local pid
  if pid="$(server_pid)"; then
    log "already running (pid $pid) on 127.0.0.1:$PORT"
    return 0
  fi
  ensure_installed
  require_port_free "$PORT" "MARKET_MYSQL_PORT"
  ensure_state_dir
  render_config
  ensure_datadir

  log "starting on 127.0.0.1:$PORT (socket $SOCKET)"
  local started=$SECONDS
  launch
  wait_until "$START_TIMEOUT" still_starting || die "no answer on port $PORT within ${START_TIMEOUT}s; see $LOGS/mariadb.err"
  bootstrap_sql | as_root || die "could not create the databases and the 'market' user"
  local count
  count="$(app_login_works)" || die "user 'market' cannot log in over TCP on 127.0.0.1:$PORT"
  [[ "$count" -ge ${#DATABASES[@]} ]] || die "user 'market' sees $count market_* databases, expected ${#DATABASES[@]}"
  log "ready in $((SECONDS - started))s: 127.0.0.1:$PORT, user market, databases ${DATABASES[*]}, pid $(server_pid)"
}

cmd_stop() {
  local pid
  if ! pid="$(server_pid)"; then
    log "not running"
    return 0
  fi
  log "stopping (pid $pid)"
  stop_pid "$pid" 60  # SIGTERM is mariadbd's clean shutdown
  log "stopped"
}

cmd_status() {
  local pid
  if ! pid="$(server_pid)"; then
    log "stopped"
    return 3
  fi
  ensure_installed
  if alive; then
    log "running (pid $pid): 127.0.0.1:$PORT, socket $SOCKET, data $DATA, log $LOGS/mariadb.err"
  else
    log "process $pid alive but not answering on port $PORT"
    return 1
  fi
}

cmd_reset() {
  server_pid >/dev/null || die "not running; start it first ('$0 start')"
  ensure_installed
  local db
  for db in "${DATABASES[@]}"; do
    echo "DROP DATABASE IF EXISTS \`$db\`;"
  done | as_root || die "could not drop the databases"
  bootstrap_sql | as_root || die "could not recreate the databases"
  log "databases ${DATABASES[*]} dropped and recreated (empty)"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  *) usage_and_exit "start|stop|status|reset" ;;
esac
