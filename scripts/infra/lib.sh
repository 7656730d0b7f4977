# shellcheck shell=bash disable=SC2034  # REPO/DEPLOY/STATE are for the sourcing script
# Shared helpers for the scripts in scripts/infra/. Sourced, never executed.
# Expects the caller to set SERVICE (used as the log prefix) before sourcing.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEPLOY="$REPO/deploy"
# Absolute, because the rendered configs embed it and the daemons do not run from the caller's directory.
STATE="$(realpath -m "${MARKET_STATE_DIR:-$REPO/.local}")"

log() { printf '[%s] %s\n' "$SERVICE" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$SERVICE" "$*" >&2; exit 1; }

ensure_state_dir() {
  mkdir -p "$STATE"
  # Self-ignoring, so runtime state never shows up in git status whatever the root .gitignore says.
  [[ -f "$STATE/.gitignore" ]] || printf '*\n' >"$STATE/.gitignore"
}

require_cmd() {  # require_cmd <command> <hint>
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found: $2"
}

port_open() {  # true when something accepts TCP connections on 127.0.0.1:<port>
  timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

require_port_free() {  # require_port_free <port> <what>
  if port_open "$1"; then
    local who
    who="$(ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'users:(.*)' | head -n1 || true)"
    die "port $1 ($2) is already in use by another process ${who:-(unknown)}; stop it or set a different port"
  fi
}

read_pid() { if [[ -f "$1" ]]; then tr -dc '0-9' <"$1"; fi; }

pid_matches() {  # pid_matches <pid> <marker>: pid is alive and its command line contains marker
  local pid="$1" marker="$2"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"
}

wait_until() {  # wait_until <timeout-seconds> <command...>: polls every 0.5 s
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

stop_pid() {  # stop_pid <pid> <grace-seconds> [signal]: signal, wait, then SIGKILL
  local pid="$1" grace="$2" sig="${3:-TERM}"
  kill -"$sig" "$pid" 2>/dev/null || return 0
  if ! wait_until "$grace" pid_gone "$pid"; then
    log "pid $pid still alive after ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 pid_gone "$pid" || die "could not kill pid $pid"
  fi
}

pid_gone() { ! kill -0 "$1" 2>/dev/null; }

render_template() {  # render_template <src> <dst> <VAR...>: substitutes only the listed ${VAR}s
  require_cmd envsubst "install it with: apt-get install -y gettext-base"
  local shell_format="" var
  for var in "${@:3}"; do
    export "${var?}"
    shell_format+="\${$var} "
  done
  envsubst "$shell_format" <"$1" >"$2.tmp"
  mv "$2.tmp" "$2"
}

apt_install() {  # apt_install <package...>: non-interactive, without letting the packages start system services
  [[ $EUID -eq 0 ]] || die "installing $* needs root (or install them yourself: apt-get install -y $*)"
  local blocker=/usr/sbin/policy-rc.d added=0
  if [[ ! -e $blocker ]]; then
    # policy-rc.d exit 101 tells invoke-rc.d not to start the distro's instance; we run our own.
    printf '#!/bin/sh\nexit 101\n' >"$blocker" && chmod +x "$blocker" && added=1
  fi
  log "installing $* with apt-get (this can take a minute)"
  local rc=0 out
  out="$(mktemp)"
  { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; } >"$out" 2>&1 || rc=$?
  ((added)) && rm -f "$blocker"
  if ((rc != 0)); then
    tail -n 30 "$out" >&2
    die "apt-get install $* failed (exit $rc); full output in $out"
  fi
  rm -f "$out"
}

disable_system_service() {  # disable_system_service <unit>: the packaged instance must not bind ports
  # Without systemd, apt_install's policy-rc.d already kept it from starting; Debian's sysv "stop" for
  # mariadb may `killall mariadbd`, which would take our own instances down too.
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now "$1" >/dev/null 2>&1 || true
  fi
}

usage_and_exit() {  # usage_and_exit <subcommands>
  printf 'usage: %s {%s}\n' "$(basename "$0")" "$1" >&2
  exit 2
}
