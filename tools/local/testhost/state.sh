#!/usr/bin/env bash
# Sourced by tools/local/testhost.sh (not run on its own): the state dir: its lock, the host names, the harness key.
# It uses the settings and log/die that testhost.sh defines before sourcing it.
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
