#!/usr/bin/env bash
# The host tools every part of the project needs (lint, tests, the local target, the bench,
# CI), in one list, installed with apt-get when missing. Everything else calls this:
# `npm test` first of all, `npm run lint`, tools/local/testhost.sh and tools/local/standin-repo.sh before
# they work, so `sudo npm test` and `sudo npm run local` set up a fresh Debian or Ubuntu
# machine themselves.
#
#   tools/setup.sh [GROUP...]           install what is missing (root), or do nothing in a few ms
#   tools/setup.sh --check [GROUP...]   exit 1 naming what is missing; never installs
#   tools/setup.sh --list [GROUP...]    print the Debian packages, one a line
# GROUP is lint or hosts (the third column below); none means all.
#
# Safe to run several at once (one flock around apt, apt's own lock waited for), never asks
# anything (no terminal, no stdin, noninteractive debconf, old conffiles kept), and keeps
# the packages it installs from starting system-wide daemons (apt-cacher-ng would take port
# 3142 on every interface; the test hosts run their own instance with their own config).
set -euo pipefail

# One line per command: the command, the Debian package that provides it (the same on
# Ubuntu), and who needs it: "lint" (npm run lint, also on CI runners without root) or
# "hosts" (the local target, its tests and the bench). Adding a tool is adding a line.
# Essential and required packages (bash, coreutils, tar, gzip, sed, grep, dpkg, apt) are on
# every Debian and Ubuntu system and not listed, except the few commands named below that
# come from them, so that a stripped-down image says so instead of failing half-way.
# tests/local/freshMachine.test.ts checks the commands the host scripts call against this.
readonly TOOLS='
shellcheck      shellcheck          lint   npm run lint
debootstrap     debootstrap         hosts  builds the test host image
systemd-nspawn  systemd-container   hosts  boots the test hosts
apt-cacher-ng   apt-cacher-ng       hosts  the test hosts apt proxy
zstd            zstd                hosts  packs the image
ip              iproute2            hosts  network namespaces and veth pairs
ss              iproute2            hosts  finds the proxy listener
ssh             openssh-client      hosts  reaches the test hosts
ssh-keygen      openssh-client      hosts  harness and host keys
openssl         openssl             hosts  tests compare key fingerprints with it
gpg             gpg                 hosts  signs the stand-in IDE repository
gpg-agent       gpg-agent           hosts  holds the signing key for gpg
gpgconf         gpgconf             hosts  stops the stand-in build gpg-agent
apt-ftparchive  apt-utils           hosts  indexes the stand-in IDE repository
dpkg-deb        dpkg                hosts  builds the stand-in packages
flock           util-linux          hosts  state, image and proxy locks
setsid          util-linux          hosts  detaches nspawn and the proxy
nsenter         util-linux          hosts  tests reach a host from outside
setpriv         util-linux          hosts  tests run setup as a user who is not root
findmnt         util-linux          hosts  finds mounts left by an interrupted image build
od              coreutils           hosts  machine ids
sha256sum       coreutils           hosts  the image cache key
awk             mawk                hosts  parsing
git             git                 hosts  tests clone and serve the stand-in dotfiles repository
chromium        chromium            hosts  tests render the timeline page headless (test:tools)
'

LOCK="${WS_SETUP_LOCK:-/run/lock/workstation-tools-setup.lock}"
readonly LOCK
readonly POLICY=/usr/sbin/policy-rc.d
# Marks the policy-rc.d this script writes, so that one left by a killed run is recognised
# (and only ours is ever removed).
readonly POLICY_MARK="written by workstation tools/setup.sh"

log() { printf 'setup: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

has_command() {
  command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" || -x "/sbin/$1" ]]
}

GROUPS_WANTED=" lint hosts "
# "command package" pairs from the list, of the groups wanted.
pairs() { awk -v want="$GROUPS_WANTED" 'NF >= 3 && index(want, " " $3 " ") { print $1, $2 }' <<<"$TOOLS"; }

# The packages of the missing commands, each once.
missing_packages() {
  local cmd pkg
  while read -r cmd pkg; do
    has_command "$cmd" || printf '%s\n' "$pkg"
  done < <(pairs) | awk '!seen[$0]++'
}

missing_commands() {
  local cmd pkg
  while read -r cmd pkg; do
    has_command "$cmd" || printf '%s (%s) ' "$cmd" "$pkg"
  done < <(pairs)
}

# Our policy-rc.d refuses only apt-cacher-ng, and only while the setup that wrote it is
# alive: one left behind by a killed run refuses nothing, and the next setup removes it.
write_policy() {
  cat >"$POLICY.workstation.$$" <<EOF
#!/bin/sh
# $POLICY_MARK (pid $$): keeps apt-cacher-ng's system-wide daemon from starting.
if [ "\$1" = apt-cacher-ng ] && [ -d /proc/$$ ] && grep -q setup.sh /proc/$$/cmdline 2>/dev/null; then
  exit 101
fi
exit 0
EOF
  chmod 755 "$POLICY.workstation.$$"
  mv "$POLICY.workstation.$$" "$POLICY"
}

remove_our_policy() {
  if [[ -f "$POLICY" ]] && grep -qF "$POLICY_MARK" "$POLICY"; then rm -f "$POLICY"; fi
  rm -f "$POLICY".workstation.*
}

apt_get() {
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a apt-get -q -y \
    -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "$@" </dev/null
}

install_missing() {
  local -a packages
  mapfile -t packages < <(missing_packages)
  ((${#packages[@]} > 0)) || return 0
  if [[ "$(id -u)" -ne 0 ]]; then
    die "missing host tools: $(missing_commands)
  install them as root: sudo bash tools/setup.sh   (or: sudo apt-get install ${packages[*]})"
  fi
  mkdir -p "$(dirname "$LOCK")"
  exec {lockfd}>"$LOCK"
  if ! flock -w 900 "$lockfd"; then die "another tools/setup.sh still holds $LOCK after 15 minutes"; fi
  # Under the lock no other setup runs: a policy-rc.d of ours is left by a killed run.
  remove_our_policy
  mapfile -t packages < <(missing_packages) # a setup we waited for may have installed them
  ((${#packages[@]} > 0)) || return 0
  log "installing host packages: ${packages[*]}"
  local wrote_policy=""
  if [[ ! -e "$POLICY" ]]; then
    trap remove_our_policy EXIT
    trap 'exit 130' INT TERM HUP
    write_policy
    wrote_policy=1
  fi
  # A fresh machine has no package lists yet; an old machine's may name versions gone from
  # the mirror. Try as is first (fast when the lists are good), then update and try again.
  if ! apt_get install --no-install-recommends "${packages[@]}" >&2; then
    log "install failed with the current package lists; running apt-get update"
    apt_get update >&2
    apt_get install --no-install-recommends "${packages[@]}" >&2
  fi
  if [[ -n "$wrote_policy" ]]; then
    remove_our_policy
    trap - EXIT INT TERM HUP
  fi
  local still
  still="$(missing_commands)"
  [[ -z "$still" ]] || die "still missing after installing ${packages[*]}: $still"
  log "host tools ready"
}

mode=install
case "${1:-}" in
  --check | --list) mode="${1#--}"; shift ;;
  -*) die "usage: tools/setup.sh [--check | --list] [lint | hosts ...]" ;;
esac
if (($# > 0)); then
  for group in "$@"; do
    [[ "$group" == lint || "$group" == hosts ]] || die "unknown group '$group': lint or hosts"
  done
  GROUPS_WANTED=" $* "
fi
case "$mode" in
  install) install_missing ;;
  check)
    missing="$(missing_commands)"
    [[ -z "$missing" ]] || { log "missing: $missing"; exit 1; }
    ;;
  list) pairs | awk '!seen[$2]++ { print $2 }' ;;
esac
