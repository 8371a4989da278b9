#!/usr/bin/env bash
# The local test host: a real Debian 13 (trixie) system booted with systemd-nspawn
# (systemd as PID 1) inside a network namespace of its own, reached over real SSH.
#
#   testhost.sh image                      build the image tarball or reuse the cached one; print its path
#   testhost.sh up NAME --index N --authorized-keys FILE [--user-data FILE] [--image TARBALL]
#                                          boot a host (from TARBALL, a baked image, instead of
#                                          the base image); print one JSON line when it is ready
#   testhost.sh bake NAME --out TARBALL    stop host NAME, generalise its root
#                                          (provisioning/generalise.sh), pack it into TARBALL
#                                          and remove the host; print TARBALL
#   testhost.sh down NAME | --all          stop host(s), delete netns/veth, remove root dir(s)
#   testhost.sh list                       one JSON line per running host
#   testhost.sh names                      every host of the state dir, running or half-made
#   testhost.sh ssh NAME [CMD...]          ssh to the host as root with the harness key
#   testhost.sh proxy stop                 stop the shared apt-cacher-ng (down does it with the last host)
#
# Network: host index N gets a netns "wsth-NAME" and a veth /30: host side 10.213.N.1,
# guest side 10.213.N.2, no default route inside. The only way out is one shared
# apt-cacher-ng on the host, listening on 10.213.255.1:3142 (a /32 on the host's lo),
# which every guest reaches through its own veth with a /32 route via its gateway.
# One fixed address means the proxy never restarts when hosts come and go, so
# concurrent hosts do not lose downloads in flight.
#
# The proxy belongs to the machine, not to one state dir: its pid file and lock live in
# /run/workstation-testhost (WS_PROXY_RUN_DIR), so hosts of several state dirs share it,
# and it stops when no "wsth-*" network namespace is left on the machine.
#
# Environment: WS_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/workstation),
# WS_STATE_DIR (default $WS_CACHE_DIR/run), WS_DEBIAN_MIRROR (default: first URIs of
# /etc/apt/sources.list.d/debian.sources), WS_BOOT_TIMEOUT (seconds, default 180).
set -euo pipefail

readonly SUITE="trixie"
readonly NET_PREFIX="10.213"
readonly PROXY_IP="${WS_PROXY_IP:-${NET_PREFIX}.255.1}" # override for tests of the proxy itself
readonly PROXY_PORT=3142
# What the image contains beyond minbase: systemd as init, sshd, sudo and cloud-init
# like a droplet (python3-cffi-backend: a virtual dependency debootstrap cannot resolve),
# curl and CA certificates for key downloads.
readonly IMAGE_PACKAGES="systemd-sysv,dbus,openssh-server,sudo,cloud-init,python3-cffi-backend,curl,ca-certificates,iproute2,procps"

CACHE_DIR="${WS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/workstation}"
STATE_DIR="${WS_STATE_DIR:-$CACHE_DIR/run}"
BOOT_TIMEOUT="${WS_BOOT_TIMEOUT:-180}"
readonly CACHE_DIR STATE_DIR BOOT_TIMEOUT
readonly HOSTS_DIR="$STATE_DIR/hosts"
readonly PROXY_DIR="${WS_PROXY_RUN_DIR:-/run/workstation-testhost}"
readonly HARNESS_KEY="$STATE_DIR/harness_ed25519"

log() { printf 'testhost: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

require_root() {
  if [[ "$(id -u)" -ne 0 ]]; then
    die "needs root: it creates network namespaces and veth pairs, runs systemd-nspawn and debootstrap. Run: sudo $0 $*"
  fi
}

# The host tools (one list for the whole project, in tools/setup.sh): a few ms when all are
# there, an apt-get install of what is missing otherwise. Its output goes to stderr: our
# stdout is the caller's JSON.
ensure_tools() {
  bash "$(dirname "${BASH_SOURCE[0]}")/../setup.sh" >&2
}

debian_mirror() {
  if [[ -n "${WS_DEBIAN_MIRROR:-}" ]]; then
    printf '%s\n' "$WS_DEBIAN_MIRROR"
    return
  fi
  local uri
  uri="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  if [[ -z "$uri" ]]; then
    uri="$(awk '/^deb / && $2 ~ /^http/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)"
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# ---------------------------------------------------------------------------------------
# Image

# Everything below that changes the image is inside this function: its text is part of
# the cache key, so editing it rebuilds the image.
configure_image_root() {
  local root="$1" mirror="$2"
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # cloud-init as on a droplet, but only the NoCloud seed, no network probing and no
  # network rendering (the veth is configured from the host before boot).
  mkdir -p "$root/etc/cloud/cloud.cfg.d" "$root/var/lib/cloud/seed/nocloud"
  cat >"$root/etc/cloud/cloud.cfg.d/90-workstation-testhost.cfg" <<'EOF'
# workstation local test host: seeded NoCloud only, like a droplet's user data.
datasource_list: [NoCloud]
network: {config: disabled}
# Root keeps the droplet's SSH keys (DigitalOcean images allow root login too).
disable_root: false
# Host keys are generated per host before boot; sources are the image's own.
ssh_deletekeys: false
ssh_genkeytypes: []
apt: {preserve_sources_list: true}
manage_etc_hosts: false
preserve_hostname: true
growpart: {mode: "off"}
resize_rootfs: false
EOF
  # Host keys and machine id are written per host at boot time, not shared by the image.
  rm -f "$root"/etc/ssh/ssh_host_*
  : >"$root/etc/machine-id"
  mkdir -p "$root/root/.ssh"
  chmod 700 "$root/root/.ssh"
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log
  # Documentation and translations are a third of the files and a quarter of the bytes,
  # and extraction time per host follows the file count. Packages installed later still
  # bring their own (no dpkg path-exclude: installs cost what they cost on a droplet).
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
  mkdir -p "$root/var/lib/apt/lists/partial"
}

image_key() {
  {
    printf '%s\n' "$SUITE" "$IMAGE_PACKAGES" "$(debian_mirror)"
    declare -f configure_image_root
  } | sha256sum | cut -c1-16
}

# What a build killed with SIGKILL leaves: its build dir (with debootstrap's /proc and /sys
# mounts still in it) and a partial tarball. Called under the build lock, when no build runs.
clear_stale_builds() {
  local dir mnt
  for dir in "$CACHE_DIR"/images/.build.*/; do
    [[ -d "$dir" ]] || continue
    dir="${dir%/}"
    log "removing $dir, left by an interrupted image build"
    while read -r mnt; do
      umount -l "$mnt" 2>/dev/null || true
    done < <(findmnt -rn -o TARGET | awk -v d="$dir/" 'index($0, d) == 1' | sort -r)
    rm -rf --one-file-system "$dir" || log "could not remove $dir entirely"
  done
  rm -f "$CACHE_DIR"/images/*.tar.zst.tmp
}

image_path() { printf '%s/images/debian-%s-%s.tar.zst\n' "$CACHE_DIR" "$SUITE" "$(image_key)"; }

cmd_image() {
  require_root image
  ensure_tools
  local tarball
  tarball="$(image_path)"
  if [[ -s "$tarball" ]]; then
    printf '%s\n' "$tarball"
    return 0
  fi
  mkdir -p "$(dirname "$tarball")"
  local lock="$CACHE_DIR/images/.build.lock"
  exec {lockfd}>"$lock"
  flock "$lockfd"
  if [[ -s "$tarball" ]]; then # built by a concurrent caller while we waited
    printf '%s\n' "$tarball"
    return 0
  fi
  clear_stale_builds
  local start build mirror
  start="$(now)"
  mirror="$(debian_mirror)"
  build="$(mktemp -d "$CACHE_DIR/images/.build.XXXXXX")"
  # shellcheck disable=SC2064 # expand now: the trap must remove this build dir
  trap "rm -rf '$build' '$tarball.tmp'" EXIT
  trap 'exit 130' INT TERM
  log "building the $SUITE image from $mirror (about a minute)"
  if ! debootstrap --variant=minbase --include="$IMAGE_PACKAGES" "$SUITE" "$build/root" "$mirror" \
    >"$build/debootstrap.log" 2>&1 </dev/null; then
    tail -n 30 "$build/debootstrap.log" >&2
    die "debootstrap failed (full log above, last 30 lines)"
  fi
  configure_image_root "$build/root" "$mirror"
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$build/root" -cf - . |
    zstd -q -f -3 -T0 -o "$tarball.tmp"
  mv "$tarball.tmp" "$tarball"
  rm -rf "$build"
  trap - EXIT INT TERM
  exec {lockfd}>&-
  log "image built in $(elapsed "$start") s: $tarball ($(du -h "$tarball" | cut -f1))"
  printf '%s\n' "$tarball"
}

# ---------------------------------------------------------------------------------------
# State: $HOSTS_DIR/NAME/{index,pid,netns,veth,root/,host.json,console.log}

# flock locks belong to an open file description: a second open of the lock file in
# the same process would wait for ourselves, so remember whether we hold it.
STATE_LOCKED=""
lock_state() {
  [[ -z "$STATE_LOCKED" ]] || return 0
  mkdir -p "$HOSTS_DIR"
  exec {STATE_LOCK}>"$STATE_DIR/lock"
  if ! flock -w 120 "$STATE_LOCK"; then
    die "state lock $STATE_DIR/lock still held after 120 s by: $(lock_holders)"
  fi
  STATE_LOCKED=1
}
lock_holders() {
  local p fd out=""
  for p in /proc/[0-9]*; do
    [[ "${p#/proc/}" != "$$" ]] || continue
    for fd in "$p"/fd/*; do
      if [[ "$(readlink "$fd" 2>/dev/null)" == "$STATE_DIR/lock" ]]; then
        out+="${p#/proc/} ($(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-80)); "
        break
      fi
    done
  done
  printf '%s\n' "${out:-nobody visible}"
}
unlock_state() {
  [[ -n "$STATE_LOCKED" ]] || return 0
  exec {STATE_LOCK}>&-
  STATE_LOCKED=""
}

host_names() {
  local d
  for d in "$HOSTS_DIR"/*/; do
    [[ -d "$d" ]] || continue
    d="${d%/}"
    printf '%s\n' "${d##*/}"
  done
}

# Called under the state lock, so two `up`s on an empty state dir make one key, not two
# (the second ssh-keygen would stop on "Overwrite (y/n)?"). Made under a temporary name and
# renamed, the public half first: a key file, once there, is whole and has its .pub.
ensure_harness_key() {
  [[ -n "$STATE_LOCKED" ]] || die "ensure_harness_key needs the state lock"
  [[ -s "$HARNESS_KEY" && -s "$HARNESS_KEY.pub" ]] && return 0
  local tmp
  rm -rf "$STATE_DIR"/.harness.* # of a killed up: nobody else makes keys while we hold the lock
  tmp="$(mktemp -d "$STATE_DIR/.harness.XXXXXX")"
  ssh-keygen -q -t ed25519 -N '' -C "workstation-testhost-harness" -f "$tmp/key" >/dev/null </dev/null
  mv -f "$tmp/key.pub" "$HARNESS_KEY.pub"
  mv -f "$tmp/key" "$HARNESS_KEY"
  rm -rf "$tmp"
}

ssh_opts() {
  printf '%s\n' -i "$HARNESS_KEY" -o BatchMode=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=3
}

# Is PID the systemd-nspawn we started for this root dir? (PIDs get reused.)
is_our_nspawn() {
  local pid="$1" root="$2" cmdline
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline")"
  [[ "$cmdline" == *systemd-nspawn* && "$cmdline" == *"$root"* ]]
}

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

# ---------------------------------------------------------------------------------------
# Hosts

netns_exists() { awk -v n="$1" '$1 == n { found = 1 } END { exit !found }' <<<"$(ip netns list 2>/dev/null)"; }

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

  # Host keys are made while the root dir is extracted (RSA alone takes most of a second).
  mkdir -p "$dir/hostkeys/etc/ssh"
  ssh-keygen -q -A -f "$dir/hostkeys" >/dev/null 2>&1 </dev/null &
  local keygen=$! extract_start extract
  extract_start="$(now)"
  tar --numeric-owner --xattrs --xattrs-include='*' -I zstd -C "$dir/root" -xf "$tarball"
  wait "$keygen" || die "ssh-keygen -A failed"
  extract="$(elapsed "$extract_start")"
  seed_root "$dir/root" "$name" "$index" "$keys_file" "$user_data"

  local boot_start pid
  boot_start="$(now)"
  setsid systemd-nspawn -D "$dir/root" -b --register=no --keep-unit \
    --network-namespace-path="/run/netns/wsth-$name" --machine="wsth-$name" \
    --console=passive --resolv-conf=off --timezone=off --link-journal=no \
    --capability=CAP_NET_ADMIN \
    >"$dir/console.log" 2>&1 </dev/null &
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
  local boot
  boot="$(elapsed "$boot_start")"
  host_json "$name" "$index" "$pid" "$boot" >"$dir/host.json"
  UP_NAME=""
  trap - EXIT INT TERM HUP
  log "$name ready ($state) at $ip: extract ${extract} s, boot ${boot} s, up $(elapsed "$start") s in all"
  cat "$dir/host.json"
}

# ---------------------------------------------------------------------------------------
# Baked images (issue 14): a provisioned host's root, generalised and packed like the base
# image, so that `up --image` boots a workstation whose install stages find their work done.

# baked_image_checked TARBALL: TARBALL's absolute path, once it is readable and zstd.
baked_image_checked() {
  local tarball="$1"
  [[ -r "$tarball" && -s "$tarball" ]] || die "--image $tarball: no such baked image (testhost.sh bake makes one)"
  [[ "$(head -c 4 "$tarball" | od -An -tx1 | tr -d ' \n')" == 28b52ffd ]] || die "--image $tarball: not a zstd tarball"
  readlink -f "$tarball"
}

# bake_stop_host NAME: an orderly shutdown of the host's systemd (nspawn passes SIGTERM on
# as SIGRTMIN+3), keeping its root dir; dies if it does not stop. A host that powered
# itself off (generalise.sh --poweroff, as on a cloud builder) is stopped already.
bake_stop_host() {
  local name="$1" dir="$HOSTS_DIR/$1" pid i
  pid="$(cat "$dir/pid" 2>/dev/null || true)"
  if [[ -z "$pid" ]] || ! is_our_nspawn "$pid" "$dir/root"; then
    log "bake $name: the host is stopped already"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  die "bake $name: nspawn $pid did not stop in 30 s; not baking a running root"
}

cmd_bake() {
  require_root bake "$@"
  local name="" out=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --out) out="${2:?--out needs a file}"; shift 2 ;;
      -*) die "unknown option $1" ;;
      *) [[ -z "$name" ]] || die "one NAME only"; name="$1"; shift ;;
    esac
  done
  [[ -n "$name" && -n "$out" ]] || die "usage: bake NAME --out TARBALL"
  validate_name "$name"
  local dir="$HOSTS_DIR/$name" start
  [[ -d "$dir/root" ]] || die "bake $name: no such host"
  [[ "$out" == *.tar.zst ]] || die "bake: --out $out must end in .tar.zst"
  start="$(now)"
  mkdir -p "$(dirname "$out")"
  bake_stop_host "$name"
  # The stopped root, generalised exactly as a cloud builder is.
  bash "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../provisioning/generalise.sh" --root "$dir/root" >"$dir/generalise.log"
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$dir/root" -cf - . | zstd -q -f -3 -T0 -o "$out.tmp"
  mv "$out.tmp" "$out"
  lock_state
  down_host "$name"
  unlock_state
  log "baked $name in $(elapsed "$start") s: $out ($(du -h "$out" | cut -f1))"
  readlink -f "$out"
}

cmd_list() {
  local name
  while read -r name; do
    [[ -n "$name" && -s "$HOSTS_DIR/$name/host.json" ]] && cat "$HOSTS_DIR/$name/host.json"
  done < <(host_names)
  return 0
}

# Every host of this state dir, up or not: a host whose up was killed has no host.json.
cmd_names() {
  host_names
}

cmd_ssh() {
  [[ $# -ge 1 ]] || die "usage: ssh NAME [CMD...]"
  local name="$1" index
  shift
  index="$(cat "$HOSTS_DIR/$name/index" 2>/dev/null)" || die "no host named $name"
  local -a opts
  mapfile -t opts < <(ssh_opts)
  exec ssh "${opts[@]}" "root@$NET_PREFIX.$index.2" "$@"
}

main() {
  [[ $# -ge 1 ]] || usage
  local cmd="$1"
  shift
  case "$cmd" in
    image) cmd_image ;;
    up) cmd_up "$@" ;;
    bake) cmd_bake "$@" ;;
    down) cmd_down "$@" ;;
    list) cmd_list ;;
    names) cmd_names ;;
    ssh) cmd_ssh "$@" ;;
    proxy)
      [[ "${1:-}" == "stop" ]] || die "usage: proxy stop"
      require_root proxy stop
      release_proxy force
      ;;
    -h | --help | help) usage ;;
    *) die "unknown command $cmd (image, up, bake, down, list, names, ssh, proxy stop)" ;;
  esac
}

main "$@"
