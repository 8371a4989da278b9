# shellcheck shell=bash
# workstation provisioning: the shared lib every stage script uses.
#
# Sourced by a stage script run on its own, or pasted before the stage script when
# the Pulumi component assembles one script for `sudo -n bash -s` (provisioning/README.md).
# The script then arrives on bash's stdin: every command the lib runs gets stdin from
# /dev/null (ws_step does it) so that nothing reads the rest of the script.
#
# Stage API:
#   ws_main FN          run FN between ws_stage_begin and ws_stage_end (skipped with WS_NO_MAIN=1)
#   ws_step NAME CMD..  run one timed step; on failure report it and exit non-zero
#   ws_skip NAME WHY    record a step whose work was found done
#   ws_result JSON      print the `::workstation-result::` line
#   ws_apt_get ARGS..   apt-get with the project's options, retries and eatmydata
#   ws_apt_install PKG  install packages (--no-install-recommends), only the missing ones
#
# The timing line's optional "lockWaitSeconds" is the time the stage's apt-get calls
# waited for their turn at dpkg: another stage's or process's dpkg run (ws__dpkg_turn_begin).
set -euo pipefail

# shellcheck disable=SC2034 # read by the stage scripts
WS_LIB_LOADED=1
export LC_ALL=C
export DEBIAN_FRONTEND=noninteractive APT_LISTCHANGES_FRONTEND=none NEEDRESTART_MODE=a NEEDRESTART_SUSPEND=1
# sbin directories may be missing from a non-login PATH: add those that are.
for WS__D in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
  [[ ":${PATH:-}:" == *":$WS__D:"* ]] || PATH="${PATH:+$PATH:}$WS__D"
done
unset WS__D
export PATH

WS_USERNAME="${WS_USERNAME:-dev}"
WS_LOG_DIR="${WS_LOG_DIR:-/var/log/workstation}"
# State the stages keep on the host (private apt dirs, markers).
WS_VAR_DIR="${WS_VAR_DIR:-/var/lib/workstation}"
# Seconds between apt retries, times the attempt: 10, 20, 30 s, so that the four attempts
# outlast a mirror or proxy gone for a minute (the tests set 0).
WS_APT_RETRY_SLEEP="${WS_APT_RETRY_SLEEP:-10}"

# Options on every apt-get call. DPkg::Lock::Timeout makes a concurrent apt-get wait
# for the dpkg lock instead of failing at once (its default is 0).
WS_APT_OPTS=(
  -o DPkg::Lock::Timeout=600
  -o Dpkg::Use-Pty=0
  -o Acquire::Retries=3
  -o Dpkg::Options::=--force-confdef
  -o Dpkg::Options::=--force-confold
)

WS__STEPS=""
WS__START=""
WS__TMP=""
WS__SKIPPED=0
WS__DONE=0

ws_log() { printf '[%s] %s\n' "${WS_STAGE:-workstation}" "$*" >&2; }
ws_warn() { printf '[%s] WARNING: %s\n' "${WS_STAGE:-workstation}" "$*" >&2; }

# The time as microseconds since the epoch (EPOCHREALTIME without its decimal point).
ws__usec() {
  local t="$EPOCHREALTIME"
  printf '%s' "${t/./}"
}

# Microseconds as seconds with 3 decimals.
ws__secs() {
  local us="$1"
  printf '%d.%03d' "$((us / 1000000))" "$(((us % 1000000) / 1000))"
}

# A JSON string literal for $1.
ws_json_str() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  s="${s//$'\t'/\\t}"
  s="${s//[$'\001'-$'\037']/ }"
  printf '"%s"' "$s"
}

ws__csv_row() {
  local status="$1" seconds="$2" file="$WS_LOG_DIR/timing.csv" ts
  ts="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  mkdir -p "$WS_LOG_DIR"
  {
    if command -v flock >/dev/null 2>&1; then flock 9; fi
    if [[ ! -s "$file" ]]; then
      printf 'Timestamp,Phase,DurationSec,Status\n' >>"$file"
    fi
    printf '%s,%s,%s,%s\n' "$ts" "$WS_STAGE" "$seconds" "$status" >>"$file"
  } 9>>"$WS_LOG_DIR/.timing.lock"
}

ws__cleanup() {
  if [[ -n "$WS__TMP" && -d "$WS__TMP" ]]; then rm -rf "$WS__TMP"; fi
}

# SIGTERM: stage-bound.sh stopping the stage at its time limit (or an operator). Bash runs
# this once the step it waits for has died of the same signal: record a failed row, so
# timing.csv and report.sh see the stage, and exit as a TERM-killed process would.
ws__terminated() {
  local now seconds
  now="$(ws__usec)"
  seconds="$(ws__secs "$((now - WS__START))")"
  ws_log "stopped by SIGTERM after $seconds s"
  ws__csv_row failed "$seconds" || true
  exit 143
}

ws_stage_begin() {
  : "${WS_STAGE:?WS_STAGE must be set}"
  WS__START="$(ws__usec)"
  WS__STEPS=""
  WS__SKIPPED=0
  WS__DONE=0
  WS__TMP="$(mktemp -d "${TMPDIR:-/tmp}/ws-${WS_STAGE}.XXXXXX")"
  : >"$WS__TMP/lockwait"
  trap ws__cleanup EXIT
  trap ws__terminated TERM
  mkdir -p "$WS_LOG_DIR"
  ws_log "stage begins"
}

ws__add_step() {
  local name="$1" us="$2" status="$3"
  WS__STEPS+="${WS__STEPS:+,}{\"name\":$(ws_json_str "$name"),\"seconds\":$(ws__secs "$us"),\"status\":\"$status\"}"
}

# Called by the ERR trap inside a step: remember the failing command unless a
# wrapper (ws_run, ws_apt_get) already wrote the expanded one.
ws__record_cmd() {
  local cmd="$1"
  if [[ -n "${WS__CMDFILE:-}" && ! -s "$WS__CMDFILE" ]]; then
    printf '%s' "$cmd" >"$WS__CMDFILE"
  fi
}

# Wrappers call this with the expanded argv before running a command.
ws__set_cmd() {
  if [[ -n "${WS__CMDFILE:-}" ]]; then
    printf '%s' "$*" >"$WS__CMDFILE"
  fi
}

# Run a command, remembering its argv for the failure report.
ws_run() {
  ws__set_cmd "$@"
  "$@"
  ws__set_cmd ""
}

ws__fail() {
  local step="$1" rc="$2" cmd="$3" log="$4" now seconds
  now="$(ws__usec)"
  seconds="$(ws__secs "$((now - WS__START))")"
  {
    printf '[%s] FAILED: stage %s, step %s, exit code %s\n' "$WS_STAGE" "$WS_STAGE" "$step" "$rc"
    printf '[%s] command: %s\n' "$WS_STAGE" "${cmd:-(unknown)}"
    if [[ -s "$log" ]]; then
      printf '[%s] last lines of its output:\n' "$WS_STAGE"
      tail -n 25 "$log" | sed 's/^/    /'
    else
      printf '[%s] (no output)\n' "$WS_STAGE"
    fi
  } >&2
  ws__csv_row failed "$seconds" || true
  exit "$rc"
}

# ws_step NAME CMD [ARGS...]: run CMD (a command or a function) as one timed step.
# It runs in a subshell with errexit and an ERR trap, its stdin is /dev/null, and its
# output goes to stderr (and to a log kept for the failure report).
ws_step() {
  local name="$1"
  shift
  local t0 t1 rc log="$WS__TMP/step.log"
  WS__CMDFILE="$WS__TMP/step.cmd"
  : >"$WS__CMDFILE"
  ws_log "step $name"
  t0="$(ws__usec)"
  set +e
  (
    set -eE -o pipefail
    trap 'ws__record_cmd "$BASH_COMMAND"' ERR
    "$@"
  ) </dev/null 2>&1 | tee "$log" >&2
  rc="${PIPESTATUS[0]}"
  set -e
  t1="$(ws__usec)"
  if ((rc != 0)); then
    local cmd
    cmd="$(cat "$WS__CMDFILE")"
    # A plain command as the step (not a function) shows up as the subshell's "$@".
    [[ -n "$cmd" && "$cmd" != '"$@"' ]] || cmd="$*"
    ws__fail "$name" "$rc" "$cmd" "$log"
  fi
  WS__DONE=$((WS__DONE + 1))
  ws__add_step "$name" "$((t1 - t0))" ok
}

# ws_skip NAME WHY: the step's work was found done.
ws_skip() {
  local name="$1" why="$2"
  ws_log "step $name: skipped, $why"
  WS__SKIPPED=$((WS__SKIPPED + 1))
  ws__add_step "$name" 0 skipped
}

# ws_fail STEP MESSAGE: fail the stage without a command (a check that did not hold).
ws_fail() {
  local step="$1" msg="$2"
  printf '%s\n' "$msg" >"$WS__TMP/fail.log"
  ws__fail "$step" 1 "(check) $msg" "$WS__TMP/fail.log"
}

ws_result() {
  printf '::workstation-result:: %s\n' "$1"
}

ws_stage_end() {
  local end status=ok
  end="$(ws__usec)"
  if ((WS__DONE == 0)); then
    status=skipped
    ws_log "nothing to do: the stage's work is already done (skipped)"
  fi
  ws__csv_row "$status" "$(ws__secs "$((end - WS__START))")"
  ws_log "stage ends: $status in $(ws__secs "$((end - WS__START))") s"
  local lock_wait=""
  if [[ -s "$WS__TMP/lockwait" ]]; then
    lock_wait=",\"lockWaitSeconds\":$(ws__secs "$(awk '{ s += $1 } END { printf "%d", s }' "$WS__TMP/lockwait")")"
  fi
  printf '::workstation-timing:: {"stage":%s,"start":%s,"end":%s,"seconds":%s,"status":"%s","steps":[%s]%s}\n' \
    "$(ws_json_str "$WS_STAGE")" "$(ws__secs "$WS__START")" "$(ws__secs "$end")" \
    "$(ws__secs "$((end - WS__START))")" "$status" "$WS__STEPS" "$lock_wait"
}

# ws_main FN: the stage's entry point. WS_NO_MAIN=1 only defines the functions (tests).
ws_main() {
  if [[ -n "${WS_NO_MAIN:-}" ]]; then return 0; fi
  ws_stage_begin
  "$@"
  ws_stage_end
}

# --- apt ---------------------------------------------------------------------------

# Packages among the arguments that are not installed, one per line. One dpkg-query for
# all of them: each run parses the whole status database (tens of ms with a desktop
# installed), and the re-run of every stage starts with this check.
ws_pkgs_missing() {
  (($# > 0)) || return 0
  local line pkg installed=" "
  while IFS= read -r line; do
    [[ "$line" != "ii "* ]] || installed+="${line##* } "
  done < <(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null || true)
  for pkg in "$@"; do
    [[ "$installed" == *" $pkg "* ]] || printf '%s\n' "$pkg"
  done
}

# True when an earlier dpkg run was interrupted (half-installed packages pending).
ws_dpkg_interrupted() {
  local f
  for f in /var/lib/dpkg/updates/*; do
    [[ -e "$f" ]] && return 0
  done
  return 1
}

# `dpkg --configure -a` after an interrupted run. Another apt-get may hold the lock
# (and have files in updates/ while it works): wait until either it is done or we
# get the lock.
ws_dpkg_recover() {
  local i out
  for ((i = 0; i < 300; i++)); do
    ws_dpkg_interrupted || return 0
    ws__set_cmd dpkg --configure -a
    if out="$(dpkg --force-confdef --force-confold --configure -a 2>&1)"; then
      ws__set_cmd ""
      return 0
    fi
    if [[ "$out" != *lock* ]]; then
      printf '%s\n' "$out" >&2
      return 1
    fi
    sleep 2
  done
  printf '%s\n' "$out" >&2
  return 1
}

# The dpkg frontend lock as /proc/locks names it (MAJOR:MINOR:INODE, hex device), or
# nothing when the lock file does not exist yet.
ws__dpkg_lock_id() {
  local f="${WS_DPKG_LOCK_FILE:-/var/lib/dpkg/lock-frontend}" dev inode
  [[ -e "$f" ]] || return 0
  read -r dev inode < <(stat -c '%D %i' "$f")
  dev=$((16#$dev))
  # st_dev's user-space encoding: 12 bits of major at bit 8, minor around it.
  printf '%02x:%02x:%s' "$(((dev >> 8) & 0xfff))" "$(((dev & 0xff) | ((dev >> 12) & 0xfff00)))" "$inode"
}

# True while some process holds a POSIX lock on the dpkg frontend lock (dpkg and apt
# use fcntl locks, which /proc/locks lists; `flock` cannot see them).
ws__dpkg_lock_held() {
  local id="$1"
  [[ -n "$id" ]] || return 1
  awk -v id="$id" '{ for (i = 1; i <= NF; i++) if ($i == id && $0 !~ /->/) found = 1 } END { exit !found }' \
    "${WS_PROC_LOCKS:-/proc/locks}"
}

# The stages' own queue for dpkg: an flock taken around every installing apt-get, so
# that when several stages wait, each one's wait is measured until its own turn (apt's
# lock timeout alone would hide who waited how long). dpkg runs one at a time anyway.
WS_DPKG_QUEUE_FILE="${WS_DPKG_QUEUE_FILE:-/run/workstation-dpkg-queue.lock}"
WS__QUEUE_FD=""

# Takes the queue, then waits (up to 600 s, DPkg::Lock::Timeout) until no other process
# holds the dpkg lock; adds the microseconds this took, when it had to wait at all, to
# the stage's lock-wait record. apt-get's own lock timeout still covers the moment
# between this check and apt-get taking the lock.
ws__dpkg_turn_begin() {
  local id t0 t1 i waited=0
  # The batch leader (ws_apt_install_batched) already holds the turn for its apt-get.
  [[ -z "${WS__TURN_HELD:-}" ]] || return 0
  id="$(ws__dpkg_lock_id)"
  t0="$(ws__usec)"
  # The braces keep exec's 2>/dev/null to the open alone (a bare exec would keep it).
  if command -v flock >/dev/null 2>&1 && { exec {WS__QUEUE_FD}>>"$WS_DPKG_QUEUE_FILE"; } 2>/dev/null; then
    if ! flock -n "$WS__QUEUE_FD"; then
      waited=1
      ws_log "waiting for another stage's dpkg run"
      flock -w 600 "$WS__QUEUE_FD" || true
    fi
  else
    WS__QUEUE_FD=""
  fi
  if ws__dpkg_lock_held "$id"; then
    waited=1
    ws_log "waiting for the dpkg lock"
    for ((i = 0; i < 6000; i++)); do
      ws__dpkg_lock_held "$id" || break
      sleep 0.1
    done
  fi
  ((waited == 1)) || return 0
  t1="$(ws__usec)"
  if [[ -n "$WS__TMP" && -d "$WS__TMP" ]]; then printf '%s\n' "$((t1 - t0))" >>"$WS__TMP/lockwait"; fi
  ws_log "dpkg free after $(ws__secs "$((t1 - t0))") s"
}

ws__dpkg_turn_end() {
  [[ -z "${WS__TURN_HELD:-}" ]] || return 0
  if [[ -n "$WS__QUEUE_FD" ]]; then
    exec {WS__QUEUE_FD}>&-
    WS__QUEUE_FD=""
  fi
}

# Room dpkg needs beyond apt's own figure (maintainer scripts, triggers, logs), in MB.
WS_SPACE_MARGIN_MB="${WS_SPACE_MARGIN_MB:-100}"

# apt's size figure ("865 kB", "1,234 MB", "12.5 MB", "0 B") as whole MB, rounded up.
ws__apt_size_mb() {
  local figure="${1//,/}" number unit
  number="${figure% *}"
  unit="${figure##* }"
  awk -v n="$number" -v u="$unit" 'BEGIN {
    f = (u == "GB") ? 1000 : (u == "MB") ? 1 : (u == "kB") ? 0.001 : 0.000001
    mb = n * f
    printf "%d", (mb == int(mb)) ? mb : int(mb) + 1
  }'
}

# Before an install: does the file system dpkg unpacks into (/usr) have room for what apt
# says it will download and unpack, plus WS_SPACE_MARGIN_MB? A dpkg that runs out of space
# leaves packages half installed; this check fails first, with nothing touched, naming the
# stage and the free and needed MB. apt's figures come from a dry run of the same command:
# --print-uris, which prints them and stops before downloading or running dpkg. (Not
# --assume-no alone: it only answers apt's prompt, and an install that asks nothing, such
# as one .deb whose dependencies are there, goes ahead with it, here without the dpkg
# lock. -s prints no figures.) Debug::NoLocking, as it changes nothing.
# When the dry run gives no figures (nothing to install, or an error the real run will
# report itself) there is nothing to check.
ws__check_space() {
  local out download="0 B" unpack="0 B" free needed
  out="$(apt-get --print-uris --assume-no -o Debug::NoLocking=1 "${WS_APT_OPTS[@]}" "$@" 2>&1 </dev/null || true)"
  [[ "$out" == *"additional disk space will be used"* ]] || return 0
  [[ "$out" =~ Need\ to\ get\ ([0-9.,]+\ [kMG]?B)[/\ ] ]] && download="${BASH_REMATCH[1]}"
  [[ "$out" =~ After\ this\ operation,\ ([0-9.,]+\ [kMG]?B)\ of\ additional ]] && unpack="${BASH_REMATCH[1]}"
  needed=$(($(ws__apt_size_mb "$download") + $(ws__apt_size_mb "$unpack") + WS_SPACE_MARGIN_MB))
  free="$(df -Pm /usr | awk 'NR == 2 { print $4 }')"
  if ((free < needed)); then
    ws__set_cmd "free space check before apt-get $*"
    ws_log "not enough disk space for this install: ${free} MB free on /usr, ${needed} MB needed (${download} to download, ${unpack} to unpack, ${WS_SPACE_MARGIN_MB} MB margin); nothing was installed"
    return 1
  fi
}

# apt-get with the project's options; retries network errors (refreshing the lists
# when an archive is gone) and lock errors the timeout does not cover.
ws_apt_get() {
  local -a cmd=(apt-get -y -q "${WS_APT_OPTS[@]}" "$@")
  local attempt rc out="$WS__TMP/apt.$BASHPID.log" verb=""
  local arg
  for arg in "$@"; do
    case "$arg" in
      install | upgrade | dist-upgrade | remove | purge) verb="$arg" ;;
    esac
  done
  if [[ -n "$verb" ]] && command -v eatmydata >/dev/null 2>&1; then
    cmd=(eatmydata "${cmd[@]}")
  fi
  if [[ "$verb" == install || "$verb" == *upgrade ]]; then ws__check_space "$@" || return 1; fi
  for attempt in 1 2 3 4; do
    if [[ -n "$verb" ]]; then ws__dpkg_turn_begin; fi
    ws__set_cmd "${cmd[@]}"
    set +e
    if [[ -n "$WS__QUEUE_FD" ]]; then
      # apt-get does not inherit the queue: a daemon a maintainer script leaves running
      # must not keep it.
      "${cmd[@]}" {WS__QUEUE_FD}>&- 2>&1 | tee "$out"
    else
      "${cmd[@]}" 2>&1 | tee "$out"
    fi
    rc="${PIPESTATUS[0]}"
    set -e
    if [[ -n "$verb" ]]; then ws__dpkg_turn_end; fi
    if ((rc == 0)); then
      ws__set_cmd ""
      return 0
    fi
    ((attempt < 4)) || break
    if grep -Eq 'dpkg was interrupted' "$out"; then
      ws_warn "dpkg was interrupted earlier: running dpkg --configure -a, then retrying"
      ws_dpkg_recover
    elif grep -Eq 'Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock directory' "$out"; then
      ws_warn "apt lock busy (attempt $attempt): retrying"
      sleep "$((WS_APT_RETRY_SLEEP * attempt))"
    elif grep -Eq 'Unable to fetch some archives|404 +Not Found' "$out" && [[ -n "$verb" ]]; then
      ws_warn "archives missing (attempt $attempt): refreshing the package lists, then retrying"
      sleep "$((WS_APT_RETRY_SLEEP * attempt))"
      ws_apt_get update || true
    elif grep -Eq 'Temporary failure resolving|Could not resolve|Failed to fetch|Could not connect|Cannot initiate the connection|No route to host|Network is unreachable|Connection (timed out|failed|refused)|Some index files failed to download|Hash Sum mismatch|Unable to connect' "$out"; then
      ws_warn "network error (attempt $attempt): retrying"
      sleep "$((WS_APT_RETRY_SLEEP * attempt))"
    else
      break
    fi
  done
  ws__set_cmd "${cmd[@]}"
  return "$rc"
}

# Refresh the package lists when they are missing or older than $1 seconds (default 3600).
ws_apt_update_if_stale() {
  local max_age="${1:-3600}" newest=0 f m now
  for f in /var/lib/apt/lists/*_InRelease /var/lib/apt/lists/*_Release; do
    [[ -e "$f" ]] || continue
    m="$(stat -c %Y "$f")"
    ((m > newest)) && newest="$m"
  done
  now="$(date +%s)"
  if ((now - newest < max_age)); then
    echo "package lists are $((now - newest)) s old: no update needed"
    return 0
  fi
  ws_apt_get update
}

# Install the packages that are missing (all named explicitly: no Recommends), but for
# those this stage deferred (ws_apt_defer) to the next shared install run.
WS__DEFERRED=""
ws_apt_install() {
  local -a missing=() wanted=()
  local pkg
  for pkg in "$@"; do
    [[ " $WS__DEFERRED " == *" $pkg "* ]] || wanted+=("$pkg")
  done
  ((${#wanted[@]} > 0)) && mapfile -t missing < <(ws_pkgs_missing "${wanted[@]}")
  if ((${#missing[@]} == 0)); then
    echo "already installed: $*"
    return 0
  fi
  ws_apt_get install --no-install-recommends "${missing[@]}"
}

# --- batched installs (group commit) -----------------------------------------------
#
# Stages that install at the same time (desktop and the IDEs) share dpkg runs: each one
# leaves its request (install arguments: package names or .deb paths) in the batch dir,
# then takes its turn on the dpkg queue. Whoever gets the turn first installs every
# request waiting at that moment in ONE apt-get run (one unpack, one trigger run:
# ldconfig, desktop-file-utils, mime and icon caches once instead of once per stage) and
# marks each one done; a stage whose request was done by another finds it so when its
# own turn comes and returns at once. A failed batch marks its requests failed: each
# stage then installs its own request alone, so a failure is reported by the stage whose
# packages caused it. A deferred request (ws_apt_defer) has no stage waiting for it: it
# rides with the next batch, and the stage that needs the packages installs whatever is
# still missing itself.
WS_DPKG_BATCH_DIR="${WS_DPKG_BATCH_DIR:-${WS_DPKG_QUEUE_FILE%.lock}.d}"
# .deb files of a batch are hard-linked here (same filesystem as the stages' private
# download dirs), so that apt finds them already downloaded under their archive names.
WS_DPKG_BATCH_ARCHIVES="${WS_DPKG_BATCH_ARCHIVES:-$WS_VAR_DIR/apt/batch-archives}"

# Request names are the stage's (or "deferred-STAGE"): one request per name at a time.
ws__batch_write() {
  local name="$1"
  shift
  mkdir -p "$WS_DPKG_BATCH_DIR"
  rm -f "$WS_DPKG_BATCH_DIR/$name.done"
  printf '%s\n' "$@" >"$WS_DPKG_BATCH_DIR/.$name.tmp"
  mv -f "$WS_DPKG_BATCH_DIR/.$name.tmp" "$WS_DPKG_BATCH_DIR/$name.req"
}

# ws_apt_defer PKG...: the missing ones ride with the next batch; nothing waits for it.
ws_apt_defer() {
  local -a missing
  mapfile -t missing < <(ws_pkgs_missing "$@")
  WS__DEFERRED="$*"
  if ((${#missing[@]} == 0)); then
    echo "already installed: $*"
    return 0
  fi
  ws__batch_write "deferred-$WS_STAGE" "${missing[@]}"
  echo "deferred to the next install run: ${missing[*]}"
}

# Runs with the turn held: one apt-get for request NAME and, unless ALONE is 1, every
# other request waiting now. Sets WS__BATCH_SIZE to the number of requests it took.
WS__BATCH_SIZE=0
ws__batch_lead() {
  local own="$1" alone="${2:-0}" f name arg rc=0 debs=0 base i
  local -a args=() req_names=() pkgs=() opts=() files=("$WS_DPKG_BATCH_DIR/$own.req")
  ((alone == 1)) || files+=("$WS_DPKG_BATCH_DIR"/*.req)
  for f in "${files[@]}"; do
    [[ -f "$f" ]] || continue
    name="${f##*/}"
    name="${name%.req}"
    [[ " ${req_names[*]} " != *" $name "* ]] || continue
    req_names+=("$name")
    while IFS= read -r arg; do
      [[ -n "$arg" ]] || continue
      if [[ "$arg" == /* ]]; then
        args+=("$arg")
        debs=1
      else
        pkgs+=("$arg")
      fi
    done <"$f"
  done
  WS__BATCH_SIZE="${#req_names[@]}"
  if ((${#pkgs[@]} > 0)); then mapfile -t pkgs < <(ws_pkgs_missing "${pkgs[@]}"); fi
  if ((debs == 1)); then
    mkdir -p "$WS_DPKG_BATCH_ARCHIVES/partial"
    if id -u _apt >/dev/null 2>&1; then chown _apt:root "$WS_DPKG_BATCH_ARCHIVES/partial"; fi
    for ((i = 0; i < ${#args[@]}; i++)); do
      base="${args[i]##*/}"
      ln -f "${args[i]}" "$WS_DPKG_BATCH_ARCHIVES/$base" 2>/dev/null || cp -f "${args[i]}" "$WS_DPKG_BATCH_ARCHIVES/$base"
      args[i]="$WS_DPKG_BATCH_ARCHIVES/$base"
    done
    opts=(-o "Dir::Cache::Archives=$WS_DPKG_BATCH_ARCHIVES/")
  fi
  args+=("${pkgs[@]}")
  ((${#req_names[@]} < 2)) || echo "one dpkg run for the requests of: ${req_names[*]}"
  if ((${#args[@]} > 0)); then
    # Dependencies (and deferred packages) come from the shared lists.
    ws_apt_update_if_stale 3600 || rc=$?
    ((rc != 0)) || ws_apt_get "${opts[@]}" install --no-install-recommends "${args[@]}" || rc=$?
  fi
  if ((debs == 1)); then rm -f "$WS_DPKG_BATCH_ARCHIVES/"*.deb; fi
  for name in "${req_names[@]}"; do
    printf '%s %s\n' "$rc" "$WS_STAGE" >"$WS_DPKG_BATCH_DIR/$name.done"
    rm -f "$WS_DPKG_BATCH_DIR/$name.req"
  done
  rm -f "$WS_DPKG_BATCH_DIR/$own.done"
  return "$rc"
}

# ws_apt_install_batched ARG...: install package names (only the missing ones) and
# .deb paths (absolute), sharing one dpkg run with whatever other stages wait for theirs.
ws_apt_install_batched() {
  local -a args=() missing=()
  local arg rc=0 leader="" alone=0 done_file="$WS_DPKG_BATCH_DIR/$WS_STAGE.done"
  for arg in "$@"; do
    if [[ "$arg" != /* ]]; then
      missing+=("$arg")
    elif [[ -f "$arg" ]]; then
      args+=("$arg")
    else
      ws__set_cmd "test -f $arg"
      echo "no such .deb: $arg"
      return 1
    fi
  done
  if ((${#missing[@]} > 0)); then mapfile -t missing < <(ws_pkgs_missing "${missing[@]}"); fi
  args+=("${missing[@]}")
  if ((${#args[@]} == 0)); then
    echo "already installed: $*"
    return 0
  fi
  ws__batch_write "$WS_STAGE" "${args[@]}"
  ws__dpkg_turn_begin
  WS__TURN_HELD=1
  if [[ -s "$done_file" ]]; then
    read -r rc leader <"$done_file"
    rm -f "$done_file"
    if ((rc == 0)); then
      echo "installed by the dpkg run of $leader, which took this stage's request too: ${args[*]}"
    else
      ws_warn "the dpkg run of $leader with this stage's request failed (exit $rc): installing this stage's packages alone"
      alone=1
    fi
  else
    ws__batch_lead "$WS_STAGE" || rc=$?
    if ((rc != 0 && WS__BATCH_SIZE > 1)); then
      ws_warn "the dpkg run shared with other requests failed (exit $rc): installing this stage's packages alone"
      alone=1
    fi
  fi
  if ((alone == 1)); then
    rc=0
    ws__batch_write "$WS_STAGE" "${args[@]}"
    ws__batch_lead "$WS_STAGE" 1 || rc=$?
  fi
  WS__TURN_HELD=""
  ws__dpkg_turn_end
  return "$rc"
}

# --- files -------------------------------------------------------------------------

# ws_write_file PATH MODE CONTENT: write atomically (with a trailing newline) when the
# content differs; sets WS_CHANGED to 1 when it wrote, 0 when the file was already so.
# shellcheck disable=SC2034 # read by the stage scripts
WS_CHANGED=0
ws_write_file() {
  local path="$1" mode="$2" content="$3" tmp
  WS_CHANGED=0
  if ws_file_is "$path" "$content"; then
    return 0
  fi
  mkdir -p "$(dirname "$path")"
  tmp="$(mktemp "$path.ws.XXXXXX")"
  printf '%s\n' "$content" >"$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$path"
  # shellcheck disable=SC2034
  WS_CHANGED=1
}

# True when the file exists with exactly this content.
ws_file_is() {
  local path="$1" content="$2"
  [[ -f "$path" ]] && [[ "$(cat "$path")" == "$content" ]]
}

# --- xrdp --------------------------------------------------------------------------

# Listening TCP sockets on port 3389 or owned by xrdp/xrdp-sesman, as "ADDR:PORT" lines.
ws_xrdp_listeners() {
  ss -Hltnp 2>/dev/null | awk '$4 ~ /:3389$/ || /"xrdp(-sesman)?"/ { print $4 }' | sort -u
}

# True when xrdp listens on 127.0.0.1:3389, nothing else listens on port 3389, and
# xrdp's sockets are all on loopback. $1 (optional): the listeners to judge.
ws_xrdp_loopback_only() {
  local listeners="${1-$(ws_xrdp_listeners)}" line found=0
  while IFS= read -r line; do
    [[ -n "$line" ]] || continue
    if [[ "$line" == "127.0.0.1:3389" ]]; then
      found=1
    elif [[ "$line" == *:3389 ]]; then
      return 1
    elif [[ "$line" != 127.* && "$line" != "[::1]:"* ]]; then
      return 1
    fi
  done <<<"$listeners"
  ((found == 1))
}
