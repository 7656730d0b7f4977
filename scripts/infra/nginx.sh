#!/usr/bin/env bash
# The nginx gateway of the distributed mode (our own master process, not the distro's service).
# usage: nginx.sh {start|stop|status|reload|check}
set -euo pipefail

SERVICE=nginx
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export MARKET_GATEWAY_PORT="${MARKET_GATEWAY_PORT:-8080}"
export MARKET_MEMBER_HTTP_PORT="${MARKET_MEMBER_HTTP_PORT:-8101}"
export MARKET_PRODUCT_HTTP_PORT="${MARKET_PRODUCT_HTTP_PORT:-8102}"
export MARKET_ORDER_HTTP_PORT="${MARKET_ORDER_HTTP_PORT:-8103}"
export MARKET_PAYMENT_HTTP_PORT="${MARKET_PAYMENT_HTTP_PORT:-8104}"
export MARKET_REPORTING_HTTP_PORT="${MARKET_REPORTING_HTTP_PORT:-8106}"
# Each service's upstream servers: every replica `market up` runs (it sets these), else the one port above.
export MARKET_MEMBER_UPSTREAM="${MARKET_MEMBER_UPSTREAM:-server 127.0.0.1:$MARKET_MEMBER_HTTP_PORT;}"
export MARKET_PRODUCT_UPSTREAM="${MARKET_PRODUCT_UPSTREAM:-server 127.0.0.1:$MARKET_PRODUCT_HTTP_PORT;}"
export MARKET_ORDER_UPSTREAM="${MARKET_ORDER_UPSTREAM:-server 127.0.0.1:$MARKET_ORDER_HTTP_PORT;}"
export MARKET_PAYMENT_UPSTREAM="${MARKET_PAYMENT_UPSTREAM:-server 127.0.0.1:$MARKET_PAYMENT_HTTP_PORT;}"
export MARKET_REPORTING_UPSTREAM="${MARKET_REPORTING_UPSTREAM:-server 127.0.0.1:$MARKET_REPORTING_HTTP_PORT;}"
# The load benchmark runs from loopback and must not be throttled by default.
export MARKET_GATEWAY_RATE="${MARKET_GATEWAY_RATE:-2000r/s}"
export MARKET_GATEWAY_BURST="${MARKET_GATEWAY_BURST:-4000}"
START_TIMEOUT="${MARKET_GATEWAY_START_TIMEOUT:-15}"

TEMPLATE="$DEPLOY/nginx/nginx.conf.template"
# Included by the template; shared with the Helm chart's gateway, hence kept in the chart.
SHARED=("$DEPLOY"/helm/market/files/gateway-{http,server}.conf)
export NGINX_HOME="$STATE/nginx"
CONF="$NGINX_HOME/nginx.conf"
PIDFILE="$NGINX_HOME/nginx.pid"
LOGS="$NGINX_HOME/logs"
TEMPLATE_VARS=(NGINX_HOME MARKET_GATEWAY_PORT MARKET_MEMBER_UPSTREAM MARKET_PRODUCT_UPSTREAM
  MARKET_ORDER_UPSTREAM MARKET_PAYMENT_UPSTREAM MARKET_REPORTING_UPSTREAM MARKET_GATEWAY_RATE MARKET_GATEWAY_BURST)

ensure_installed() {
  if ! NGINX="$(command -v nginx || command -v /usr/sbin/nginx)"; then
    apt_install nginx
    disable_system_service nginx
    NGINX="$(command -v nginx || command -v /usr/sbin/nginx)" || die "nginx not found even after installing it"
  fi
}

master_pid() {
  local pid
  pid="$(read_pid "$PIDFILE")"
  pid_matches "$pid" "-c $CONF" && echo "$pid"
}

nginx_cmd() { "$NGINX" -p "$NGINX_HOME/" -c "$CONF" -e "$LOGS/error.log" "$@"; }

validate_env() {
  [[ "$MARKET_GATEWAY_RATE" =~ ^[0-9]+r/[sm]$ ]] || die "MARKET_GATEWAY_RATE must look like 2000r/s or 60r/m, got '$MARKET_GATEWAY_RATE'"
  [[ "$MARKET_GATEWAY_BURST" =~ ^[0-9]+$ ]] || die "MARKET_GATEWAY_BURST must be an integer, got '$MARKET_GATEWAY_BURST'"
  [[ "$MARKET_GATEWAY_PORT" =~ ^[0-9]+$ ]] || die "MARKET_GATEWAY_PORT must be a port number, got '$MARKET_GATEWAY_PORT'"
  local var
  for var in MARKET_MEMBER_UPSTREAM MARKET_PRODUCT_UPSTREAM MARKET_ORDER_UPSTREAM MARKET_PAYMENT_UPSTREAM \
    MARKET_REPORTING_UPSTREAM; do
    [[ "${!var}" =~ ^(server\ 127\.0\.0\.1:[0-9]+(\ [a-z_=0-9]+)*\;\ ?)+$ ]] || die "$var must be 'server 127.0.0.1:PORT;'s, got '${!var}'"
  done
}

render_and_test() {
  validate_env
  mkdir -p "$LOGS" "$NGINX_HOME/temp"
  render_template "$TEMPLATE" "$CONF" "${TEMPLATE_VARS[@]}"
  cp "${SHARED[@]}" "$NGINX_HOME/"
  local out
  out="$(nginx_cmd -t -q 2>&1)" || { printf '%s\n' "$out" >&2; die "nginx -t rejected $CONF"; }
}

healthy() {
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$MARKET_GATEWAY_PORT/healthz" 2>/dev/null
}

cmd_start() {
  local pid
  if pid="$(master_pid)"; then
    log "already running (pid $pid) on 127.0.0.1:$MARKET_GATEWAY_PORT"
    return 0
  fi
  ensure_installed
  require_cmd curl "install it with: apt-get install -y curl"
  require_port_free "$MARKET_GATEWAY_PORT" "MARKET_GATEWAY_PORT"
  ensure_state_dir
  render_and_test

  log "starting on 127.0.0.1:$MARKET_GATEWAY_PORT (rate $MARKET_GATEWAY_RATE, burst $MARKET_GATEWAY_BURST)"
  nginx_cmd || die "nginx failed to start; see $LOGS/error.log"
  wait_until "$START_TIMEOUT" healthy || die "no answer on /healthz within ${START_TIMEOUT}s; see $LOGS/error.log"
  log "ready: http://127.0.0.1:$MARKET_GATEWAY_PORT -> member {$MARKET_MEMBER_UPSTREAM}, product {$MARKET_PRODUCT_UPSTREAM}," \
    "order {$MARKET_ORDER_UPSTREAM}, payment {$MARKET_PAYMENT_UPSTREAM}, reporting {$MARKET_REPORTING_UPSTREAM}" \
    "(pid $(master_pid))"
}

cmd_stop() {
  local pid
  if ! pid="$(master_pid)"; then
    log "not running"
    return 0
  fi
  log "stopping (pid $pid)"
  stop_pid "$pid" 15 QUIT  # QUIT lets in-flight requests finish
  log "stopped"
}

cmd_status() {
  local pid
  if ! pid="$(master_pid)"; then
    log "stopped"
    return 3
  fi
  if healthy; then
    log "running (pid $pid): http://127.0.0.1:$MARKET_GATEWAY_PORT, config $CONF, logs $LOGS/{access,error}.log"
  else
    log "master $pid alive but /healthz not answering on port $MARKET_GATEWAY_PORT"
    return 1
  fi
}

cmd_reload() {
  local pid
  pid="$(master_pid)" || die "not running; use '$0 start'"
  ensure_installed
  render_and_test
  local -a old_workers
  mapfile -t old_workers < <(pgrep -P "$pid" || true)
  kill -HUP "$pid"
  # Return only once the old workers are gone, so the next request is served with the new configuration.
  wait_until 15 workers_gone "${old_workers[@]}" || log "warning: old workers still finishing requests after 15s"
  log "configuration re-rendered and reloaded (pid $pid, rate $MARKET_GATEWAY_RATE, burst $MARKET_GATEWAY_BURST)"
}

workers_gone() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }

cmd_check() {
  ensure_installed
  render_and_test
  log "$CONF is valid"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  reload) cmd_reload ;;
  check) cmd_check ;;
  *) usage_and_exit "start|stop|status|reload|check" ;;
esac
