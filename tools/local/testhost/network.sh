#!/usr/bin/env bash
# Sourced by tools/local/testhost.sh (not run on its own): the network namespace and veth of each host.
# It uses the settings and log/die that testhost.sh defines before sourcing it.
# ---------------------------------------------------------------------------------------
# Network: a host's namespace wsth-NAME and its veth /30 (NET_PREFIX.N.1 | NET_PREFIX.N.2),
# with a /32 route to the proxy as the only way out.

netns_exists() { awk -v n="$1" '$1 == n { found = 1 } END { exit !found }' <<<"$(ip netns list 2>/dev/null)"; }

setup_network() {
  local name="$1" index="$2" ns="wsth-$1" link="wsth$2"
  local dir="$HOSTS_DIR/$1"
  ip netns add "$ns"
  : >"$dir/created-netns"
  mkdir -p "$PROXY_DIR/netns"
  printf '%s\n' "$STATE_DIR" >"$PROXY_DIR/netns/$ns"
  ip link add "$link" type veth peer name eth0 netns "$ns"
  : >"$dir/created-link"
  ip addr add "$NET_PREFIX.$index.1/30" dev "$link"
  ip link set "$link" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$NET_PREFIX.$index.2/30" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add "$PROXY_IP/32" via "$NET_PREFIX.$index.1"
}

# Deletes network namespace NAME when this state dir created it (the machine-wide registry
# says whose each one is), or when nobody owns it and no process is in it.
remove_stray_netns() {
  local ns="$1" owner
  owner="$(cat "$PROXY_DIR/netns/$ns" 2>/dev/null || true)"
  if [[ "$owner" == "$STATE_DIR" || (-z "$owner" && -z "$(ip netns pids "$ns" 2>/dev/null)") ]]; then
    log "removing stray netns $ns"
    ip netns del "$ns" 2>/dev/null || true
    rm -f "$PROXY_DIR/netns/$ns"
  fi
}
