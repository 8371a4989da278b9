#!/usr/bin/env bash
# Runs a command (default: the suites that boot test hosts) against an empty cache and state
# dir, as on a fresh machine: the image is built, the stand-in packages made and every
# Debian package downloaded anew, and the harness key generated while two hosts boot at once.
# The temporary dir is removed afterwards, whatever the outcome.
#
#   tools/cold-cache.sh [CMD...]       default: npm run test:local && npm run test:e2e
#
# The apt proxy serves the whole machine (tools/local/README.md): when one is already running
# for hosts of another state dir, its cache is warm and this run's downloads are not cold.
set -euo pipefail
cd "$(dirname "$0")/.."

# A run killed before its cleanup left its dir (named with its pid) and maybe hosts in it.
for old in "${TMPDIR:-/tmp}"/ws-cold.*.*/; do
  [[ -d "$old" ]] || continue
  old="${old%/}"
  pid="${old##*/ws-cold.}"
  pid="${pid%%.*}"
  if [[ ! "$pid" =~ ^[0-9]+$ ]] || kill -0 "$pid" 2>/dev/null; then continue; fi
  echo "cold-cache: removing $old, left by a killed run" >&2
  WS_CACHE_DIR="$old/cache" bash tools/local/testhost.sh down --all >/dev/null 2>&1 || true
  rm -rf --one-file-system "$old"
done
work="$(mktemp -d "${TMPDIR:-/tmp}/ws-cold.$$.XXXXXX")"
export WS_CACHE_DIR="$work/cache" XDG_CACHE_HOME="$work/xdg"
unset WS_STATE_DIR # the default, under the empty cache dir
readonly proxy_conf="${WS_PROXY_RUN_DIR:-/run/workstation-testhost}/acng.conf"

cleanup() {
  local rc=$?
  trap '' INT TERM HUP
  bash tools/local/testhost.sh down --all >/dev/null 2>&1 || true
  # A proxy still serving other hosts keeps its cache dir: if that is ours, leave it.
  if grep -qF "CacheDir: $WS_CACHE_DIR/" "$proxy_conf" 2>/dev/null && grep -q '^wsth-' <<<"$(ip netns list 2>/dev/null)"; then
    echo "cold-cache: the apt proxy still serves other hosts from $WS_CACHE_DIR/apt-cacher-ng; leaving $work" >&2
  else
    rm -rf --one-file-system "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [[ -e "$proxy_conf" ]] && grep -q '^wsth-' <<<"$(ip netns list 2>/dev/null)"; then
  echo "cold-cache: warning: an apt proxy already runs for other hosts; apt downloads come from its cache" >&2
fi
echo "cold-cache: WS_CACHE_DIR=$WS_CACHE_DIR" >&2
start=$SECONDS
if (($# == 0)); then set -- bash -c 'npm run test:local && npm run test:e2e'; fi
"$@" </dev/null
echo "cold-cache: done in $((SECONDS - start)) s" >&2
