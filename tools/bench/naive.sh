#!/usr/bin/env bash
# naive: the program's package set installed the way a plain, hand-written setup script
# does it. The yardstick for `npm run bench` (tools/bench/README.md, "naive").
#
# What "naive" means here, exactly:
# - one stage after another, in the program's stage order (system-prep, desktop, the IDEs
#   one by one, harden); no stage starts before the previous one ended;
# - each stage runs `apt-get update` and then `apt-get install -y` of that stage's packages
#   (the same names provisioning/*.sh install);
# - apt's defaults: Recommends are installed (APT::Install-Recommends is true on Debian),
#   no DPkg::Lock::Timeout, no eatmydata (every dpkg fsync happens), man-db's triggers left
#   on (man-db/auto-update untouched), no retries;
# - each IDE repository added the plain way the vendors document it: the key fetched with
#   curl and dearmored with gpg into the same keyring path, a one-line `deb [signed-by=...]`
#   source in /etc/apt/sources.list.d/<ide>.list, then `apt-get update` and
#   `apt-get install -y <package>`, pointing at the same (stand-in) repository as the program.
# The only things a script on a real droplet would need beyond this are
# DEBIAN_FRONTEND=noninteractive and -y, which every unattended script sets.
#
# Input (shell assignments placed before this script, or the environment):
#   BENCH_STAGES  one line per distribution stage: "STAGE PKG PKG ..."
#   BENCH_IDES    one line per IDE: "NAME PACKAGE REPO_URL SUITE COMPONENTS KEY_URL KEYRING"
#   BENCH_IDE_AFTER  the stage after which the IDE stages run (default desktop)
#   BENCH_ROOT    prefix of every file the recipe writes (default empty: the real system;
#                 the tests point it at a scratch directory)
# Output: one line per stage `::bench-timing:: {"stage":"desktop","seconds":12.345}`,
# then `::bench-total:: {"seconds":...}`. Progress goes to stderr.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive LC_ALL=C

: "${BENCH_STAGES:?BENCH_STAGES must list the stages}"
BENCH_IDES="${BENCH_IDES:-}"
BENCH_ROOT="${BENCH_ROOT:-}"
BENCH_IDE_AFTER="${BENCH_IDE_AFTER:-desktop}"

usec() {
  local t="$EPOCHREALTIME"
  printf '%s' "${t/./}"
}

secs() {
  local us="$1"
  printf '%d.%06d' "$((us / 1000000))" "$((us % 1000000))"
}

# timed STAGE CMD...: run CMD, print the stage's timing line.
timed() {
  local stage="$1" t0 t1
  shift
  printf '[naive] stage %s\n' "$stage" >&2
  t0="$(usec)"
  "$@" </dev/null >&2
  t1="$(usec)"
  printf '::bench-timing:: {"stage":"%s","seconds":%s}\n' "$stage" "$(secs "$((t1 - t0))")"
}

distro_stage() {
  apt-get update
  apt-get install -y "$@"
}

ide_stage() {
  local name="$1" package="$2" repo="$3" suite="$4" components="$5" key_url="$6" keyring="$7"
  local tmp
  tmp="$(mktemp)"
  curl -fsSL -o "$tmp" "$key_url"
  mkdir -p "$BENCH_ROOT$(dirname "$keyring")" "$BENCH_ROOT/etc/apt/sources.list.d"
  if grep -q -- '-----BEGIN PGP' "$tmp"; then
    gpg --batch --yes --dearmor -o "$BENCH_ROOT$keyring" "$tmp"
  else
    cp "$tmp" "$BENCH_ROOT$keyring"
  fi
  rm -f "$tmp"
  chmod 644 "$BENCH_ROOT$keyring"
  echo "deb [arch=$(dpkg --print-architecture) signed-by=$keyring] $repo $suite $components" \
    >"$BENCH_ROOT/etc/apt/sources.list.d/$name.list"
  apt-get update
  apt-get install -y "$package"
}

run_ides() {
  local name package repo suite components key_url keyring
  while read -r name package repo suite components key_url keyring; do
    [[ -n "${name:-}" ]] || continue
    timed "ide-$name" ide_stage "$name" "$package" "$repo" "$suite" "$components" "$key_url" "$keyring"
  done <<<"$BENCH_IDES"
}

main() {
  local start end stage packages
  start="$(usec)"
  while read -r stage packages; do
    [[ -n "${stage:-}" ]] || continue
    # shellcheck disable=SC2086 # the package list is split on purpose
    timed "$stage" distro_stage $packages
    if [[ "$stage" == "$BENCH_IDE_AFTER" ]]; then run_ides; fi
  done <<<"$BENCH_STAGES"
  end="$(usec)"
  printf '::bench-total:: {"seconds":%s}\n' "$(secs "$((end - start))")"
}

# stdin is the script itself when it arrives on `bash -s`: keep every command off it.
main "$@" </dev/null
