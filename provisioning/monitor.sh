#!/usr/bin/env bash
# monitor: a systemd service that samples memory, CPU, disk, load and processes every
# 10 s into $WS_LOG_DIR/resources.csv (the report stage reads it), and a timer that
# records activity every minute into /var/lib/workstation/activity.json (what
# `npm run deploy -- stop-idle` reads to stop an idle workstation).
# shellcheck source-path=SCRIPTDIR source=lib.sh
[[ -n "${WS_LIB_LOADED:-}" ]] || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WS_STAGE="${WS_STAGE:-monitor}"

readonly MN_SAMPLER=/usr/local/lib/workstation/sample-resources
readonly MN_UNIT=/etc/systemd/system/workstation-monitor.service
readonly MN_SERVICE=workstation-monitor.service

# The sampler installed on the host. The first sample measures CPU over 1 s, later ones
# over the interval.
# shellcheck disable=SC2016 # the sampler's own expansions
readonly MN_SAMPLER_TEXT='#!/bin/bash
# workstation resource sampler (installed by provisioning/monitor.sh).
# sample-resources [--once] [--interval SECONDS] [--output FILE]
# CSV: Timestamp,MemUsedMB,MemAvailMB,CPUPercent,DiskAvailMB,LoadAvg1m,ProcessCount
set -euo pipefail
export LC_ALL=C
out=/var/log/workstation/resources.csv
interval=10
once=0
while (($# > 0)); do
  case "$1" in
    --once) once=1 ;;
    --interval) interval="$2"; shift ;;
    --output) out="$2"; shift ;;
    *) echo "usage: sample-resources [--once] [--interval SECONDS] [--output FILE]" >&2; exit 2 ;;
  esac
  shift
done

cpu_total=0
cpu_idle=0
read_cpu() {
  local _cpu user nice system idle iowait irq softirq steal _rest
  read -r _cpu user nice system idle iowait irq softirq steal _rest </proc/stat
  cpu_total=$((user + nice + system + idle + iowait + irq + softirq + steal))
  cpu_idle=$((idle + iowait))
}

sample() {
  local prev_total="$1" prev_idle="$2" mem_total mem_avail used dt di busy10 disk load procs
  local -a pids
  read -r mem_total mem_avail < <(awk '"'"'/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { print int(t / 1024), int(a / 1024) }'"'"' /proc/meminfo)
  used=$((mem_total - mem_avail))
  read_cpu
  dt=$((cpu_total - prev_total))
  di=$((cpu_idle - prev_idle))
  busy10=0
  ((dt > 0)) && busy10=$((1000 * (dt - di) / dt))
  disk="$(df -Pm / | awk '"'"'NR == 2 { print $4 }'"'"')"
  read -r load _ </proc/loadavg
  pids=(/proc/[0-9]*)
  procs="${#pids[@]}"
  if [[ ! -s "$out" ]]; then
    printf "Timestamp,MemUsedMB,MemAvailMB,CPUPercent,DiskAvailMB,LoadAvg1m,ProcessCount\n" >>"$out"
  fi
  printf "%s,%d,%d,%d.%d,%d,%s,%d\n" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$used" "$mem_avail" \
    "$((busy10 / 10))" "$((busy10 % 10))" "$disk" "$load" "$procs" >>"$out"
}

mkdir -p "$(dirname "$out")"
read_cpu
sleep 1
while :; do
  t="$cpu_total"
  i="$cpu_idle"
  sample "$t" "$i"
  ((once == 0)) || exit 0
  sleep "$interval"
done'

readonly MN_RECORDER=/usr/local/lib/workstation/record-activity
readonly MN_ACTIVITY_SERVICE_UNIT=/etc/systemd/system/workstation-activity.service
readonly MN_ACTIVITY_TIMER_UNIT=/etc/systemd/system/workstation-activity.timer
readonly MN_ACTIVITY_TIMER=workstation-activity.timer

# The activity recorder installed on the host (tests/provisioning/activity.test.ts runs it
# with fakes). Every input moves lastActiveAt forward only.
# shellcheck disable=SC2016 # the recorder's own expansions
readonly MN_RECORDER_TEXT='#!/bin/bash
# workstation activity recorder (installed by provisioning/monitor.sh), run every minute by
# workstation-activity.timer. Writes $WS_ACTIVITY_DIR/activity.json (default
# /var/lib/workstation): {"updatedAt","lastActiveAt","reason","sessions":{"ssh","xrdp"},
# "cpuPercent","warnedAt"}, epoch seconds. lastActiveAt is the latest of: the last input on
# an SSH session (its terminal'"'"'s atime), the last data from an RDP client (ss lastrcv on
# port 3389; an RDP tunnel over SSH arrives there too), CPU busier than WS_CPU_THRESHOLD %
# (default 25) since the last run, and the mtime of a keep-alive file ~/.workstation-keepalive
# (touch -d "+3 hours" keeps it active until then). A warning marker (idle-warned, written by
# stop-idle) is removed once activity follows it.
set -euo pipefail
export LC_ALL=C
dir="${WS_ACTIVITY_DIR:-/var/lib/workstation}"
dev="${WS_DEV_DIR:-/dev}"
homes="${WS_HOMES_DIR:-/home}"
proc="${WS_PROC_DIR:-/proc}"
threshold="${WS_CPU_THRESHOLD:-25}"
out="$dir/activity.json"
mkdir -p "$dir"
# One run at a time (the timer and a start by hand): cpu.prev and the record are shared.
exec 9>"$dir/.lock"
flock 9
now="$(date +%s)"
last=0
reason=none
if [[ -s "$out" ]]; then
  last="$(sed -n '"'"'s/.*"lastActiveAt":\([0-9]*\).*/\1/p'"'"' "$out")"
  reason="$(sed -n '"'"'s/.*"reason":"\([a-z]*\)".*/\1/p'"'"' "$out")"
  [[ -n "$last" ]] || last=0
fi
if ((last == 0)); then
  # A new host counts as active from its boot.
  read -r up _ <"$proc/uptime"
  last=$((now - ${up%.*}))
  reason=boot
fi
note() {
  if (($1 > last)); then
    last="$1"
    reason="$2"
  fi
}
ssh=0
while read -r tty; do
  [[ -e "$dev/$tty" ]] || continue
  ssh=$((ssh + 1))
  note "$(stat -c %X "$dev/$tty")" ssh
done < <(who | awk '"'"'$2 ~ /^pts\// { print $2 }'"'"')
xrdp=0
while read -r ms; do
  xrdp=$((xrdp + 1))
  note $((now - ms / 1000)) xrdp
done < <(ss -Htni state established "( sport = :3389 )" | grep -o "lastrcv:[0-9]*" | cut -d: -f2)
read -r _cpu user nice system idle iowait irq softirq steal _rest <"$proc/stat"
total=$((user + nice + system + idle + iowait + irq + softirq + steal))
idle=$((idle + iowait))
cpu=0
if [[ -s "$dir/cpu.prev" ]]; then
  read -r ptotal pidle <"$dir/cpu.prev"
  if ((total > ptotal)); then
    cpu=$((100 * ((total - ptotal) - (idle - pidle)) / (total - ptotal)))
  fi
fi
printf "%s %s\n" "$total" "$idle" >"$dir/cpu.prev"
((cpu <= threshold)) || note "$now" cpu
for f in "$homes"/*/.workstation-keepalive; do
  [[ -e "$f" ]] && note "$(stat -c %Y "$f")" keepalive
done
warned=null
if [[ -s "$dir/idle-warned" ]]; then
  warned="$(tr -dc 0-9 <"$dir/idle-warned")"
  if [[ -z "$warned" ]] || ((last > warned)); then
    rm -f "$dir/idle-warned"
    warned=null
  fi
fi
printf "{\"updatedAt\":%d,\"lastActiveAt\":%d,\"reason\":\"%s\",\"sessions\":{\"ssh\":%d,\"xrdp\":%d},\"cpuPercent\":%d,\"warnedAt\":%s}\n" \
  "$now" "$last" "$reason" "$ssh" "$xrdp" "$cpu" "$warned" >"$out.$$"
mv -f "$out.$$" "$out"'

mn_activity_service_text() {
  printf '%s\n' \
    '[Unit]' \
    'Description=workstation activity recorder (for idle auto-stop)' \
    '' \
    '[Service]' \
    'Type=oneshot' \
    "ExecStart=$MN_RECORDER" \
    'Nice=10'
}

mn_activity_timer_text() {
  printf '%s\n' \
    '[Unit]' \
    'Description=record workstation activity every minute' \
    '' \
    '[Timer]' \
    'OnActiveSec=0' \
    'OnUnitActiveSec=60s' \
    'AccuracySec=5s' \
    '' \
    '[Install]' \
    'WantedBy=timers.target'
}

mn_recorder() {
  ws_write_file "$MN_RECORDER" 0755 "$MN_RECORDER_TEXT"
  bash -n "$MN_RECORDER"
  ws_write_file "$MN_ACTIVITY_SERVICE_UNIT" 0644 "$(mn_activity_service_text)"
  ws_write_file "$MN_ACTIVITY_TIMER_UNIT" 0644 "$(mn_activity_timer_text)"
  ws_run systemctl daemon-reload
  ws_run systemctl enable --now "$MN_ACTIVITY_TIMER"
  # The first record now, so that stop-idle finds one as soon as the host is ready: through
  # the unit (a oneshot start waits for its run), which the timer may be starting as well.
  ws_run systemctl start workstation-activity.service
  echo "activity: $(cat /var/lib/workstation/activity.json)"
}

mn_unit_text() {
  printf '%s\n' \
    '[Unit]' \
    "Description=workstation resource sampler (every 10 s to $WS_LOG_DIR/resources.csv)" \
    'After=local-fs.target' \
    '' \
    '[Service]' \
    'Type=simple' \
    "ExecStart=$MN_SAMPLER --interval 10 --output $WS_LOG_DIR/resources.csv" \
    'Restart=always' \
    'RestartSec=5' \
    'Nice=10' \
    '' \
    '[Install]' \
    'WantedBy=multi-user.target'
}

mn_has_samples() {
  [[ -f "$WS_LOG_DIR/resources.csv" ]] && (($(wc -l <"$WS_LOG_DIR/resources.csv") >= 2))
}

mn_sampler() {
  ws_write_file "$MN_SAMPLER" 0755 "$MN_SAMPLER_TEXT"
  bash -n "$MN_SAMPLER"
  : >"$WS__TMP/monitor-restart"
  echo "sampler: $MN_SAMPLER"
}

mn_unit() {
  ws_write_file "$MN_UNIT" 0644 "$(mn_unit_text)"
  ws_run systemctl daemon-reload
  : >"$WS__TMP/monitor-restart"
  echo "unit: $MN_UNIT"
}

mn_service() {
  local i
  mkdir -p "$WS_LOG_DIR"
  ws_run systemctl enable "$MN_SERVICE"
  ws_run systemctl restart "$MN_SERVICE"
  for ((i = 0; i < 40; i++)); do
    if mn_has_samples && systemctl is-active --quiet "$MN_SERVICE"; then
      echo "first sample: $(tail -n 1 "$WS_LOG_DIR/resources.csv")"
      return 0
    fi
    sleep 0.25
  done
  ws__set_cmd "systemctl is-active $MN_SERVICE && test -s $WS_LOG_DIR/resources.csv"
  echo "no sample in $WS_LOG_DIR/resources.csv after 10 s"
  systemctl status "$MN_SERVICE" --no-pager 2>&1 | tail -n 15 || true
  return 1
}

monitor_main() {
  if ws_file_is "$MN_SAMPLER" "$MN_SAMPLER_TEXT"; then
    ws_skip sampler "$MN_SAMPLER up to date"
  else
    ws_step sampler mn_sampler
  fi
  if ws_file_is "$MN_UNIT" "$(mn_unit_text)"; then
    ws_skip unit "$MN_UNIT up to date"
  else
    ws_step unit mn_unit
  fi
  if [[ ! -e "$WS__TMP/monitor-restart" ]] && systemctl is-enabled --quiet "$MN_SERVICE" 2>/dev/null &&
    systemctl is-active --quiet "$MN_SERVICE" && mn_has_samples; then
    ws_skip service "$MN_SERVICE enabled, running, $(($(wc -l <"$WS_LOG_DIR/resources.csv") - 1)) samples"
  else
    ws_step service mn_service
  fi
  if ws_file_is "$MN_RECORDER" "$MN_RECORDER_TEXT" && ws_file_is "$MN_ACTIVITY_TIMER_UNIT" "$(mn_activity_timer_text)" &&
    ws_file_is "$MN_ACTIVITY_SERVICE_UNIT" "$(mn_activity_service_text)" && systemctl is-active --quiet "$MN_ACTIVITY_TIMER"; then
    ws_skip activity "$MN_ACTIVITY_TIMER active"
  else
    ws_step activity mn_recorder
  fi
}

ws_main monitor_main
