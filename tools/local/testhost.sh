#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The local test host: a real Debian 13 (trixie) system booted with systemd-nspawn
# (systemd as PID 1) inside a network namespace of its own, reached over real SSH.
#
#   testhost.sh image                      build the image tarball or reuse the cached one; print its path
#   testhost.sh up NAME --index N --authorized-keys FILE [--user-data FILE] [--image TARBALL]
#                                          boot a host (from TARBALL, a baked image, instead of
#                                          the base image); print one JSON line when it is ready
#   testhost.sh bake NAME --out TARBALL    stop host NAME, generalise its root
#                                          (provisioning/generalise.sh), pack it into TARBALL,
#                                          remove the host and cache its root; print TARBALL
#   testhost.sh reboot NAME                an orderly shutdown of the host, then its root
#                                          booted again at the same address; print its JSON line
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
  sed -n '3,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
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

# The parts, in the order they were written: each defines functions (and the globals they keep).
TESTHOST_DIR="$(dirname "${BASH_SOURCE[0]}")"
readonly TESTHOST_DIR
# shellcheck source=testhost/image.sh
source "$TESTHOST_DIR/testhost/image.sh"
# shellcheck source=testhost/state.sh
source "$TESTHOST_DIR/testhost/state.sh"
# shellcheck source=testhost/proxy.sh
source "$TESTHOST_DIR/testhost/proxy.sh"
# shellcheck source=testhost/network.sh
source "$TESTHOST_DIR/testhost/network.sh"
# shellcheck source=testhost/roots.sh
source "$TESTHOST_DIR/testhost/roots.sh"
# shellcheck source=testhost/host.sh
source "$TESTHOST_DIR/testhost/host.sh"

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

# shutdown_host NAME VERB: an orderly shutdown of the host's systemd (nspawn passes SIGTERM on
# as SIGRTMIN+3), keeping its root dir; dies if it does not stop. A host that powered
# itself off (generalise.sh --poweroff, as on a cloud builder) is stopped already.
shutdown_host() {
  local name="$1" verb="$2" dir="$HOSTS_DIR/$1" pid i
  pid="$(cat "$dir/pid" 2>/dev/null || true)"
  if [[ -z "$pid" ]] || ! is_our_nspawn "$pid" "$dir/root"; then
    log "$verb $name: the host is stopped already"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  die "$verb $name: nspawn $pid did not stop in 30 s"
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
  shutdown_host "$name" bake
  # The stopped root, generalised exactly as a cloud builder is.
  bash "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../provisioning/generalise.sh" --root "$dir/root" >"$dir/generalise.log"
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$dir/root" -cf - . | zstd -q -f -3 -T0 -o "$out.tmp"
  mv "$out.tmp" "$out"
  lock_state
  down_host "$name"
  unlock_state
  out="$(readlink -f "$out")"
  log "baked $name in $(elapsed "$start") s: $out ($(du -h "$out" | cut -f1))"
  # Hosts boot from the image's cached root: extract it now, so that the first up from it
  # does not pay for it. The image is made: a failure here only leaves that to the first up.
  start="$(now)"
  if (lock_roots_shared && ensure_root "$out"); then
    log "cached its root in $(elapsed "$start") s"
  else
    log "warning: could not cache the root of $out now; the first up from it extracts it"
  fi
  printf '%s\n' "$out"
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
    reboot) cmd_reboot "$@" ;;
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
    *) die "unknown command $cmd (image, up, bake, reboot, down, list, names, ssh, proxy stop)" ;;
  esac
}

main "$@"
