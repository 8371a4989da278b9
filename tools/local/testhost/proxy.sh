#!/usr/bin/env bash
# Sourced by tools/local/testhost.sh (not run on its own): the shared apt proxy (apt-cacher-ng) every host reaches.
# It uses the settings and log/die that testhost.sh defines before sourcing it.
# ---------------------------------------------------------------------------------------
# Proxy: one apt-cacher-ng for all hosts on the machine, on a fixed /32 on lo (no dummy
# module needed). Its own lock, taken after a state lock when both are needed.

PROXY_LOCKED=""
lock_proxy() { # re-entrant, like lock_state: a die() under it cleans up through release_proxy
  [[ -z "$PROXY_LOCKED" ]] || return 0
  mkdir -p "$PROXY_DIR"
  exec {PROXY_LOCK}>"$PROXY_DIR/lock"
  flock -w 120 "$PROXY_LOCK" || die "proxy lock $PROXY_DIR/lock still held after 120 s"
  PROXY_LOCKED=1
}
unlock_proxy() {
  [[ -n "$PROXY_LOCKED" ]] || return 0
  exec {PROXY_LOCK}>&-
  PROXY_LOCKED=""
}

# No pipe into `grep -q` here: grep exits at the first match, the writer may die of
# SIGPIPE, and under pipefail a match then reads as "not found" (that added the proxy
# address twice: "ipv4: Address already assigned"). Match on captured output instead.
lo_has_proxy_ip() { grep -qF " $PROXY_IP/32 " <<<"$(ip -o addr show dev lo)"; }

# PID of the process listening on the proxy address, whoever started it.
proxy_listener() {
  { ss -Hltnp "sport = :$PROXY_PORT" 2>/dev/null || true; } | awk -v a="$PROXY_IP:$PROXY_PORT" '
    $4 == a && match($0, /pid=[0-9]+/) { print substr($0, RSTART + 4, RLENGTH - 4); exit }'
}

# PID of the apt-cacher-ng this tool started, if it still runs.
proxy_pid() {
  local pid
  pid="$(cat "$PROXY_DIR/acng.tracked-pid" 2>/dev/null || true)"
  if [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] && grep -qF "apt-cacher-ng -c $PROXY_DIR " <<<"$(tr '\0' ' ' <"/proc/$pid/cmdline")"; then
    printf '%s\n' "$pid"
  fi
}

ensure_proxy() {
  lock_proxy
  if ! lo_has_proxy_ip; then
    ip addr add "$PROXY_IP/32" dev lo
  fi
  local listener
  listener="$(proxy_listener)"
  if [[ -n "$listener" ]]; then
    if ! grep -q '^apt-cacher-ng ' <<<"$(tr '\0' ' ' <"/proc/$listener/cmdline" 2>/dev/null)"; then
      die "$PROXY_IP:$PROXY_PORT is taken by pid $listener, not by apt-cacher-ng"
    fi
    unlock_proxy
    return 0
  fi
  mkdir -p "$PROXY_DIR/log" "$CACHE_DIR/apt-cacher-ng"
  cat >"$PROXY_DIR/acng.conf" <<EOF
# apt-cacher-ng for the workstation test hosts: no Remap- lines (plain proxy for the
# Debian archive the guests name), its own socket, pid file and logs.
CacheDir: $CACHE_DIR/apt-cacher-ng
LogDir: $PROXY_DIR/log
SupportDir: /usr/lib/apt-cacher-ng
BindAddress: $PROXY_IP
Port: $PROXY_PORT
SocketPath: $PROXY_DIR/socket
PidFile: $PROXY_DIR/acng.pid
ForeGround: 1
ReportPage: acng-report.html
ExThreshold: 4
EOF
  # Closing the lock fds: the daemon must not inherit a lock, or it would hold it for life.
  setsid apt-cacher-ng -c "$PROXY_DIR" ForeGround=1 >"$PROXY_DIR/log/stdout.log" 2>&1 </dev/null \
    {PROXY_LOCK}>&- {STATE_LOCK}>&- &
  local pid=$! i
  printf '%s\n' "$pid" >"$PROXY_DIR/acng.tracked-pid"
  for ((i = 0; i < 50; i++)); do
    listener="$(proxy_listener)"
    if [[ "$listener" == "$pid" ]]; then
      log "apt-cacher-ng up on $PROXY_IP:$PROXY_PORT (pid $pid, cache $CACHE_DIR/apt-cacher-ng)"
      unlock_proxy
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  cat "$PROXY_DIR/log/stdout.log" >&2 || true
  die "apt-cacher-ng did not start on $PROXY_IP:$PROXY_PORT"
}

# Stop the proxy when no host of this tool is left on the machine (or always, with "force").
release_proxy() {
  lock_proxy
  if [[ "${1:-}" != "force" ]] && grep -q '^wsth-' <<<"$(ip netns list 2>/dev/null)"; then
    unlock_proxy
    return 0
  fi
  local pid i
  pid="$(proxy_pid)"
  if [[ -n "$pid" ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    log "apt-cacher-ng stopped (pid $pid)"
  fi
  rm -f "$PROXY_DIR/acng.tracked-pid" "$PROXY_DIR/acng.pid" "$PROXY_DIR/socket"
  # Another apt-cacher-ng may still serve the address (started by an older copy of
  # this tool); keep the address for it.
  if [[ -z "$(proxy_listener)" ]] && lo_has_proxy_ip; then
    ip addr del "$PROXY_IP/32" dev lo
  fi
  unlock_proxy
}
