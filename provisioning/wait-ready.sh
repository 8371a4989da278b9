#!/usr/bin/env bash
# wait-ready: the host is ready for provisioning when cloud-init has finished and no
# apt/dpkg process holds a lock. Result: seconds from boot to this point.
# shellcheck source-path=SCRIPTDIR source=lib.sh
[[ -n "${WS_LIB_LOADED:-}" ]] || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WS_STAGE="${WS_STAGE:-wait-ready}"

readonly WR_LOCKS=(/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock)

# `cloud-init status --wait`: 0 is done, 2 is done but degraded (recent versions).
wr_cloud_init() {
  local rc=0
  timeout 1800 cloud-init status --wait >"$WS__TMP/cloud-init.out" 2>&1 || rc=$?
  cat "$WS__TMP/cloud-init.out"
  case "$rc" in
    0) printf "done\n" >"$WS__TMP/cloud-init.state" ;;
    2)
      echo degraded >"$WS__TMP/cloud-init.state"
      ws_warn "cloud-init finished degraded (exit 2): counted as done"
      ;;
    *)
      ws__set_cmd cloud-init status --wait
      echo "cloud-init status --wait exited $rc"
      return "$rc"
      ;;
  esac
}

# The lock files some process holds (POSIX locks in /proc/locks, matched by inode).
# One stat and one awk for all of them: this runs first on every run and re-run.
wr_held_locks() {
  local f
  local -a present=()
  for f in "${WR_LOCKS[@]}"; do
    [[ -e "$f" ]] && present+=("$f")
  done
  ((${#present[@]} > 0)) || return 0
  stat -c '%i %n' "${present[@]}" | awk '
    NR == FNR { for (i = 1; i <= NF; i++) if (split($i, p, ":") == 3) held[p[3]] = 1; next }
    ($1 in held) { print $2 }' /proc/locks -
}

wr_wait_locks() {
  local i held
  for ((i = 0; i < 600; i++)); do
    held="$(wr_held_locks)"
    if [[ -z "$held" ]]; then
      echo "apt/dpkg locks free after ${i} s"
      return 0
    fi
    ((i % 15 == 0)) && echo "waiting for: ${held//$'\n'/ }"
    sleep 1
  done
  ws__set_cmd "wait for apt/dpkg locks: ${held//$'\n'/ }"
  echo "still held after 600 s: $held"
  return 1
}

# Seconds since PID 1 started: since boot on a VM, since container start in a container
# (/proc/uptime there is the host's).
wr_boot_seconds() {
  local up stat tck
  local -a fields
  read -r up _ </proc/uptime
  stat="$(</proc/1/stat)"
  stat="${stat##*) }"
  read -ra fields <<<"$stat"
  tck="$(getconf CLK_TCK)"
  awk -v u="$up" -v s="${fields[19]}" -v t="$tck" 'BEGIN { printf "%.1f", u - s / t }'
}

wait_ready_main() {
  local ci=absent state
  if ! command -v cloud-init >/dev/null 2>&1; then
    ws_skip cloud-init "no cloud-init on this host"
  elif grep -Eq '"errors": *\[\]' "${WR_CLOUD_INIT_RESULT:-/run/cloud-init/result.json}" 2>/dev/null; then
    # Written when cloud-init's last stage ends, here without errors: done, and no
    # `cloud-init status` (a Python start, most of a second on a small droplet) on re-runs.
    ci="done"
    ws_skip cloud-init "cloud-init already finished (done, $(basename "${WR_CLOUD_INIT_RESULT:-/run/cloud-init/result.json}") without errors)"
  else
    state="$(cloud-init status 2>/dev/null | sed -n 's/^status: //p')" || true
    case "$state" in
      done | disabled)
        ci="$state"
        ws_skip cloud-init "cloud-init already finished ($state)"
        ;;
      *)
        ws_step cloud-init wr_cloud_init
        ci="$(cat "$WS__TMP/cloud-init.state")"
        ;;
    esac
  fi
  if [[ -z "$(wr_held_locks)" ]]; then
    ws_skip apt-locks "apt/dpkg locks are free"
  else
    ws_step apt-locks wr_wait_locks
  fi
  local boot up
  boot="$(wr_boot_seconds)"
  read -r up _ </proc/uptime
  ws_log "ready ${boot} s after boot"
  ws_result "{\"bootToReadySeconds\":${boot},\"uptimeSeconds\":${up},\"cloudInit\":$(ws_json_str "$ci")}"
}

ws_main wait_ready_main
