#!/usr/bin/env bash
# Our own Redis instance (the distributed mode's shared cache of catalog reads), on loopback only.
# usage: redis.sh {start|stop|status|reset}
# It holds a cache and nothing else: no persistence, so a restarted Redis starts empty (never stale).
set -euo pipefail

SERVICE=redis
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${MARKET_REDIS_PORT:-6379}"
MAXMEMORY="${MARKET_REDIS_MAXMEMORY:-256mb}"
START_TIMEOUT="${MARKET_REDIS_START_TIMEOUT:-15}"

HOME_DIR="$STATE/redis"
CONF="$HOME_DIR/redis.conf"
PIDFILE="$HOME_DIR/redis.pid"
LOG="$HOME_DIR/redis.log"

ensure_installed() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    apt_install redis-server
    disable_system_service redis-server
  fi
}

server_pid() {
  local pid
  pid="$(read_pid "$PIDFILE")"
  pid_matches "$pid" "redis-server 127.0.0.1:$PORT" && echo "$pid"
}

cli() { redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }

alive() { [[ "$(cli ping 2>/dev/null)" == PONG ]]; }

render_config() {
  mkdir -p "$HOME_DIR"
  # allkeys-lru: a cache full of old entries drops the least used instead of refusing writes.
  cat >"$CONF" <<CONF
bind 127.0.0.1
port $PORT
protected-mode yes
daemonize yes
pidfile $PIDFILE
logfile $LOG
dir $HOME_DIR
save ""
appendonly no
maxmemory $MAXMEMORY
maxmemory-policy allkeys-lru
CONF
}

cmd_start() {
  local pid
  if pid="$(server_pid)"; then
    log "already running (pid $pid) on 127.0.0.1:$PORT"
    return 0
  fi
  ensure_installed
  require_port_free "$PORT" "MARKET_REDIS_PORT"
  ensure_state_dir
  render_config
  log "starting on 127.0.0.1:$PORT"
  redis-server "$CONF" || die "redis-server failed to start; see $LOG"
  wait_until "$START_TIMEOUT" alive || die "no PONG on port $PORT within ${START_TIMEOUT}s; see $LOG"
  log "ready: redis://127.0.0.1:$PORT/0 (pid $(server_pid))"
}

cmd_stop() {
  local pid
  if ! pid="$(server_pid)"; then
    log "not running"
    return 0
  fi
  log "stopping (pid $pid)"
  stop_pid "$pid" 15
  log "stopped"
}

cmd_status() {
  local pid
  if ! pid="$(server_pid)"; then
    log "stopped"
    return 3
  fi
  if alive; then
    log "running (pid $pid): redis://127.0.0.1:$PORT/0, log $LOG"
  else
    log "process $pid alive but not answering on port $PORT"
    return 1
  fi
}

cmd_reset() {
  server_pid >/dev/null || die "not running; start it first ('$0 start')"
  cli flushall >/dev/null || die "FLUSHALL failed"
  log "every key dropped"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  *) usage_and_exit "start|stop|status|reset" ;;
esac
