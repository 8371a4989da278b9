#!/usr/bin/env bash
# Sourced by tools/local/testhost.sh (not run on its own): booting, describing and tearing down hosts (systemd-nspawn).
# It uses the settings and log/die that testhost.sh defines before sourcing it.
# ---------------------------------------------------------------------------------------
# Hosts

validate_name() {
  [[ "$1" =~ ^[a-z0-9][a-z0-9-]{0,9}$ ]] ||
    die "host name '$1' must be 1-10 characters of a-z, 0-9 and '-' (it names a netns and a veth)"
}

# Stop one host and remove everything it has. Safe on partial state; never fails.
teardown_host() {
  local name="$1" dir="$HOSTS_DIR/$1" pid="" index="" child i
  [[ -d "$dir" ]] || return 0
  pid="$(cat "$dir/pid" 2>/dev/null || true)"
  index="$(cat "$dir/index" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && is_our_nspawn "$pid" "$dir/root"; then
    # The container's PID 1 as the host sees it, in case nspawn must be killed hard.
    child="$(cat "/proc/$pid/task/$pid/children" 2>/dev/null || true)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name: nspawn $pid did not stop in 15 s, killing it"
      kill -KILL "$pid" 2>/dev/null || true
      for i in $child; do kill -KILL "$i" 2>/dev/null || true; done
      sleep 0.2
    fi
  fi
  # Only what this host created (a failed start may have collided with someone else's).
  if [[ -e "$dir/created-netns" ]] && netns_exists "wsth-$name"; then
    ip netns del "wsth-$name" 2>/dev/null || log "$name: could not delete netns wsth-$name"
    rm -f "$PROXY_DIR/netns/wsth-$name"
  fi
  if [[ -e "$dir/created-link" && -n "$index" ]] && ip link show "wsth$index" >/dev/null 2>&1; then
    ip link del "wsth$index" 2>/dev/null || true
  fi
  # Anything else still working on this host's files: an up killed with SIGKILL leaves its
  # tar, ssh-keygen or (before the pid file) nspawn running. Their command lines name $dir.
  local -a left=()
  mapfile -t left < <(pids_naming "$dir/")
  if ((${#left[@]} > 0)); then
    log "$name: stopping leftover processes ${left[*]}"
    kill -TERM "${left[@]}" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      mapfile -t left < <(pids_naming "$dir/")
      ((${#left[@]} > 0)) || break
      sleep 0.1
    done
    if ((${#left[@]} > 0)); then kill -KILL "${left[@]}" 2>/dev/null || true; sleep 0.2; fi
  fi
  # The overlay root (also one a killed up left mounted): rm never goes through it into the image's root.
  unmount_host_dir "$dir"
  case "$dir" in
    "$HOSTS_DIR"/?*) rm -rf --one-file-system "$dir" || log "$name: could not remove $dir entirely" ;;
  esac
}

# PIDs (other than ours) whose command line contains STRING.
pids_naming() {
  local p
  for p in /proc/[0-9]*; do
    [[ "${p#/proc/}" != "$$" && "${p#/proc/}" != "$BASHPID" ]] || continue
    if grep -qF -- "$1" <<<"$({ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null)"; then
      printf '%s\n' "${p#/proc/}"
    fi
  done
}

down_host() { # caller holds the state lock
  teardown_host "$1"
  release_proxy
}

cmd_down() {
  require_root down "$@"
  [[ $# -eq 1 ]] || die "usage: down NAME | down --all"
  lock_state
  if [[ "$1" == "--all" ]]; then
    local name
    while read -r name; do
      [[ -n "$name" ]] || continue
      log "down $name"
      teardown_host "$name"
    done < <(host_names)
    # Leftovers of a crash whose host dir was lost: namespaces this state dir created
    # (the machine-wide registry says whose each one is), or nobody's and empty.
    while read -r name; do
      [[ "$name" == wsth-* ]] || continue
      remove_stray_netns "$name"
    done < <(ip netns list 2>/dev/null | awk '{ print $1 }')
    release_proxy
  else
    validate_name "$1"
    if [[ ! -d "$HOSTS_DIR/$1" ]]; then
      log "no host named $1 (nothing to do)"
      # Its namespace may outlive a host dir lost in a crash; the next up of NAME needs it gone.
      if netns_exists "wsth-$1"; then remove_stray_netns "wsth-$1"; fi
    fi
    down_host "$1"
  fi
  unlock_state
}

host_json() {
  local name="$1" index="$2" pid="$3" boot="$4"
  printf '{"name":"%s","ip":"%s","gatewayIp":"%s","index":%d,"pid":%d,"rootDir":"%s","bootSeconds":%s}\n' \
    "$name" "$NET_PREFIX.$index.2" "$NET_PREFIX.$index.1" "$index" "$pid" "$HOSTS_DIR/$name/root" "$boot"
}

# Per-host files written into the root dir before boot.
seed_root() {
  local root="$1" name="$2" index="$3" keys_file="$4" user_data="$5"
  local gw="$NET_PREFIX.$index.1"
  printf '%s\n' "$name" >"$root/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 %s\n::1 localhost ip6-localhost ip6-loopback\n' "$name" >"$root/etc/hosts"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id"
  printf '\n' >>"$root/etc/machine-id"
  install -m 644 "$root/../hostkeys/etc/ssh/"ssh_host_* -t "$root/etc/ssh/"
  chmod 600 "$root"/etc/ssh/ssh_host_*_key
  {
    grep -v '^[[:space:]]*$' "$keys_file" || true
    cat "$HARNESS_KEY.pub"
  } >"$root/root/.ssh/authorized_keys"
  chmod 600 "$root/root/.ssh/authorized_keys"
  # apt goes through the shared proxy; the gateway itself (local stand-in repos) directly.
  cat >"$root/etc/apt/apt.conf.d/01workstation-testhost-proxy" <<EOF
Acquire::http::Proxy "http://$PROXY_IP:$PROXY_PORT";
Acquire::http::Proxy::$gw "DIRECT";
Acquire::https::Proxy "DIRECT";
EOF
  local seed="$root/var/lib/cloud/seed/nocloud"
  mkdir -p "$seed"
  if [[ -n "$user_data" ]]; then
    cp "$user_data" "$seed/user-data"
  else
    printf '#cloud-config\n{}\n' >"$seed/user-data"
  fi
  printf 'instance-id: %s-%s\nlocal-hostname: %s\n' "$name" "$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')" "$name" \
    >"$seed/meta-data"
}

# boot_host NAME INDEX: starts systemd-nspawn on the host's root dir in its network
# namespace, writes its pid file, waits until SSH answers and systemd is running (or
# degraded), then writes host.json. Sets BOOT_SECONDS and BOOT_STATE. Dies on failure.
BOOT_SECONDS="" BOOT_STATE=""
boot_host() {
  local name="$1" index="$2" dir="$HOSTS_DIR/$1" boot_start pid
  boot_start="$(now)"
  setsid systemd-nspawn -D "$dir/root" -b --register=no --keep-unit \
    --network-namespace-path="/run/netns/wsth-$name" --machine="wsth-$name" \
    --console=passive --resolv-conf=off --timezone=off --link-journal=no \
    --capability=CAP_NET_ADMIN \
    >>"$dir/console.log" 2>&1 </dev/null &
  pid=$!
  printf '%s\n' "$pid" >"$dir/pid"

  local ip="$NET_PREFIX.$index.2" state="" deadline
  local -a opts
  mapfile -t opts < <(ssh_opts)
  deadline=$(($(date +%s) + BOOT_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$dir/console.log" >&2 || true
      die "$name: systemd-nspawn exited during boot (console log above)"
    fi
    state="$(timeout 60 ssh "${opts[@]}" "root@$ip" 'systemctl is-system-running --wait' 2>/dev/null </dev/null || true)"
    case "$state" in running | degraded) break ;; esac
    (($(date +%s) < deadline)) || { tail -n 40 "$dir/console.log" >&2 || true; die "$name: not ready after ${BOOT_TIMEOUT} s (last state '${state}')"; }
    sleep 0.2
  done
  BOOT_SECONDS="$(elapsed "$boot_start")"
  BOOT_STATE="$state"
  host_json "$name" "$index" "$pid" "$BOOT_SECONDS" >"$dir/host.json"
}

# A reboot of a running host, as `reboot` on a droplet: an orderly shutdown of its
# systemd (every service and session stopped, every process gone), then the same root
# dir booted again in the same network namespace, so the host keeps its disk and its
# address. (A host shares this machine's kernel: systemd's soft-reboot would keep the
# processes that its units leave, such as sshd's sessions, and `systemctl reboot` inside
# just ends nspawn.) Volumes' device nodes lived in the container's /dev: the caller
# attaches them again. Prints the host's new JSON line.
cmd_reboot() {
  require_root reboot "$@"
  [[ $# -eq 1 ]] || die "usage: reboot NAME"
  local name="$1" dir="$HOSTS_DIR/$1" index pid start
  validate_name "$name"
  [[ -s "$dir/host.json" ]] || die "reboot $name: no such running host"
  index="$(cat "$dir/index")"
  pid="$(cat "$dir/pid" 2>/dev/null || true)"
  if [[ -z "$pid" ]] || ! is_our_nspawn "$pid" "$dir/root"; then die "reboot $name: the host is not running"; fi
  start="$(now)"
  rm -f "$dir/host.json"
  shutdown_host "$name" reboot
  boot_host "$name" "$index"
  log "$name rebooted ($BOOT_STATE) in $(elapsed "$start") s: boot ${BOOT_SECONDS} s"
  cat "$dir/host.json"
}

UP_NAME=""
up_cleanup() {
  local rc=$?
  if [[ -n "$UP_NAME" ]]; then
    log "$UP_NAME: start failed or interrupted, cleaning up"
    trap '' INT TERM HUP
    lock_state
    down_host "$UP_NAME"
    unlock_state
  fi
  exit "$rc"
}

cmd_up() {
  require_root up "$@"
  local name="" index="" keys_file="" user_data="" from_image=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --image) from_image="${2:?--image needs a tarball}"; shift 2 ;;
      --index) index="${2:?--index needs a value}"; shift 2 ;;
      --authorized-keys) keys_file="${2:?--authorized-keys needs a file}"; shift 2 ;;
      --user-data) user_data="${2:?--user-data needs a file}"; shift 2 ;;
      -*) die "unknown option $1" ;;
      *) [[ -z "$name" ]] || die "one NAME only"; name="$1"; shift ;;
    esac
  done
  [[ -n "$name" && -n "$index" && -n "$keys_file" ]] || die "usage: up NAME --index N --authorized-keys FILE [--user-data FILE]"
  validate_name "$name"
  if ! [[ "$index" =~ ^[0-9]+$ ]] || ((index > 254)); then die "--index must be 0..254, got '$index'"; fi
  [[ -r "$keys_file" ]] || die "cannot read authorized keys file $keys_file"
  [[ -z "$user_data" || -r "$user_data" ]] || die "cannot read user data file $user_data"
  ensure_tools
  local tarball start dir="$HOSTS_DIR/$name"
  start="$(now)"
  if [[ -n "$from_image" ]]; then
    tarball="$(baked_image_checked "$from_image")"
  else
    tarball="$(cmd_image)"
  fi

  lock_state
  ensure_harness_key
  [[ ! -e "$dir" ]] || die "host $name exists already (down $name first)"
  local other
  while read -r other; do
    [[ -n "$other" ]] || continue
    [[ "$(cat "$HOSTS_DIR/$other/index" 2>/dev/null)" != "$index" ]] || die "index $index is used by host $other"
  done < <(host_names)
  ! netns_exists "wsth-$name" || die "netns wsth-$name exists (testhost.sh down --all cleans strays)"
  ! ip link show "wsth$index" >/dev/null 2>&1 || die "link wsth$index exists (testhost.sh down --all cleans strays)"
  mkdir -p "$dir/root"
  printf '%s\n' "$index" >"$dir/index"
  UP_NAME="$name"
  trap up_cleanup EXIT
  trap 'exit 130' INT TERM HUP
  setup_network "$name" "$index"
  ensure_proxy
  unlock_state

  # Host keys are made while the root is prepared (RSA alone takes most of a second).
  mkdir -p "$dir/hostkeys/etc/ssh"
  ssh-keygen -q -A -f "$dir/hostkeys" >/dev/null 2>&1 </dev/null &
  local keygen=$! extract_start extract
  extract_start="$(now)"
  # The image's root, extracted once per tarball and shared read-only; this host's writes
  # go to its own overlay layer (tools/local/testhost/roots.sh).
  prune_roots
  lock_roots_shared
  ensure_root "$tarball"
  mount_host_root "$dir" "$ROOT_LOWER"
  unlock_roots
  wait "$keygen" || die "ssh-keygen -A failed"
  extract="$(elapsed "$extract_start")"
  seed_root "$dir/root" "$name" "$index" "$keys_file" "$user_data"

  boot_host "$name" "$index"
  UP_NAME=""
  trap - EXIT INT TERM HUP
  log "$name ready ($BOOT_STATE) at $NET_PREFIX.$index.2: extract ${extract} s (${ROOT_HOW} root), boot ${BOOT_SECONDS} s, up $(elapsed "$start") s in all"
  cat "$dir/host.json"
}
