# shellcheck shell=bash
# workstation provisioning: the time limit every stage runs under on the host.
#
# Usage: bash -c "<this text>" stage-bound STAGE LIMIT GRACE, with the stage script on stdin.
# The component puts this text into each stage's `create` command, as root
# (`sudo -n bash -c ...`), because pulumi-command's customTimeouts.create bounds only the
# SSH dial: once the script runs, nothing on the Pulumi side stops it. The stage script
# runs with `bash -s` in a session of its own; past LIMIT seconds the whole session gets
# SIGTERM, and SIGKILL GRACE seconds later whatever is still there (a child that ignores
# SIGTERM included), so a hung stage leaves nothing running. Then it says which stage
# stopped and after how long, and exits 124 (as timeout(1) does).
# Lines that start with `#` are dropped when the text is put on the command line.
set -u
ws_bound_stage="$1" ws_bound_limit="$2" ws_bound_grace="$3"
# Not a process group leader (no job control here), so setsid makes the stage's bash the
# leader of a new session and group whose id is its PID; stdin is the stage script.
# `bash -s` would read a script from a pipe one byte at a time (so that a command could
# read what follows): some 40,000 read calls for the lib and a stage, tens of ms on every
# stage. The stage's commands take stdin from /dev/null (lib.sh), so the script is read
# at once with cat and run with eval; it stays out of argv and the environment.
# shellcheck disable=SC2016 # expanded by the stage's bash
setsid bash -c 'eval "$(cat)"' "$ws_bound_stage" <&0 &
ws_bound_pid=$!
sleep "$ws_bound_limit" &
ws_bound_timer=$!
ws_bound_done=""
wait -n -p ws_bound_done "$ws_bound_pid" "$ws_bound_timer"
ws_bound_rc=$?
if [[ "$ws_bound_done" != "$ws_bound_timer" ]]; then
  kill "$ws_bound_timer" 2>/dev/null
  wait "$ws_bound_timer" 2>/dev/null
  exit "$ws_bound_rc"
fi
kill -TERM -- "-$ws_bound_pid" 2>/dev/null
# The group lives while any process of the stage does; the stage's bash is reaped already.
for ((ws_bound_i = 0; ws_bound_i < ws_bound_grace * 10; ws_bound_i++)); do
  kill -0 -- "-$ws_bound_pid" 2>/dev/null || break
  sleep 0.1
done
kill -KILL -- "-$ws_bound_pid" 2>/dev/null
wait 2>/dev/null
printf '[%s] FAILED: stage %s ran past its limit of %s s and was stopped on the host, with every process it started\n' \
  "$ws_bound_stage" "$ws_bound_stage" "$ws_bound_limit" >&2
exit 124
