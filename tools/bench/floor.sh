#!/usr/bin/env bash
# floor: the least this host can do for the program's package set: everything already
# downloaded, then ONE dpkg transaction of all of it under eatmydata. The lower bound for
# `npm run bench` (tools/bench/README.md, "floor").
#
# BENCH_MODE=floor (default):
#   untimed: the IDE repositories added (same keyrings and deb822 sources as the program),
#            one `apt-get update`, eatmydata installed, man-db's trigger switched off (as
#            system-prep does), every package downloaded (`install --download-only`);
#   timed:   `eatmydata apt-get install -y --no-install-recommends <all packages>`: dpkg
#            unpacks and configures everything in one run, no network, no fsync.
# BENCH_MODE=download: the download floor: every .deb of the set (the URIs apt would fetch
#   for the timed install, `--print-uris`) fetched at once, BENCH_PARALLEL (default 8)
#   connections with curl, over the host's link as the bench shaped it. Timed from the
#   first request to the last byte; nothing is installed. The files go into apt's archive
#   dir (so a later BENCH_MODE=floor finds them downloaded) or, with BENCH_KEEP=0, are
#   deleted (to fetch again over another link).
# BENCH_MODE=warm: fill the shared apt cache (apt-cacher-ng on the test hosts' side) with
#   every .deb any case downloads: the set with Recommends (naive) and without (the
#   program, floor). Nothing is installed. Untimed.
#
# Input (shell assignments placed before this script, or the environment):
#   BENCH_PACKAGES  the distribution packages, space-separated
#   BENCH_IDES      one line per IDE: "NAME PACKAGE REPO_URL SUITE COMPONENTS KEY_URL KEYRING"
#   BENCH_ROOT    prefix of every file the recipe writes (default empty: the real system;
#                 the tests point it at a scratch directory)
# Output: `::bench-timing:: {"stage":"prepare","seconds":...}` (untimed part, for the
# record) and `::bench-timing:: {"stage":"install","seconds":...}`, the measured one;
# in download mode `::bench-timing:: {"stage":"download","seconds":...}` and
# `::bench-download:: {"files":N,"bytes":N}`.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive LC_ALL=C

: "${BENCH_PACKAGES:?BENCH_PACKAGES must list the packages}"
BENCH_IDES="${BENCH_IDES:-}"
BENCH_ROOT="${BENCH_ROOT:-}"
BENCH_MODE="${BENCH_MODE:-floor}"
readonly APT_OPTS=(-y -q -o Dpkg::Use-Pty=0)

usec() {
  local t="$EPOCHREALTIME"
  printf '%s' "${t/./}"
}

secs() {
  local us="$1"
  printf '%d.%06d' "$((us / 1000000))" "$((us % 1000000))"
}

timing() {
  printf '::bench-timing:: {"stage":"%s","seconds":%s}\n' "$1" "$(secs "$2")"
}

# ASCII armor to binary without gnupg (which is part of the measured set): the base64
# body between the blank line after the armor headers and the "=CRC" line.
dearmor() {
  awk '/^-----BEGIN PGP/ { inside = 1; body = 0; next }
       /^-----END PGP/ { inside = 0 }
       inside && !body && /^[[:space:]]*$/ { body = 1; next }
       inside && body && !/^=/ { print }' | base64 -d
}

# The IDE repositories as the program writes them (deb822, vendor's file and keyring names).
add_ide_sources() {
  local name package repo suite components key_url keyring tmp
  while read -r name package repo suite components key_url keyring; do
    [[ -n "${name:-}" ]] || continue
    tmp="$(mktemp)"
    curl -fsSL -o "$tmp" "$key_url"
    mkdir -p "$BENCH_ROOT$(dirname "$keyring")" "$BENCH_ROOT/etc/apt/sources.list.d"
    if grep -q -- '-----BEGIN PGP' "$tmp"; then
      dearmor <"$tmp" >"$BENCH_ROOT$keyring"
    else
      cp "$tmp" "$BENCH_ROOT$keyring"
    fi
    rm -f "$tmp"
    chmod 644 "$BENCH_ROOT$keyring"
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\nArchitectures: %s\nSigned-By: %s\n' \
      "$repo" "$suite" "$components" "$(dpkg --print-architecture)" "$keyring" \
      >"$BENCH_ROOT/etc/apt/sources.list.d/$name.sources"
  done <<<"$BENCH_IDES"
}

ide_packages() {
  local name package _rest
  while read -r name package _rest; do
    [[ -n "${name:-}" ]] || continue
    printf '%s\n' "$package"
  done <<<"$BENCH_IDES"
}

# The hosts of the IDE repositories: reached directly, as the test host's apt does
# (Acquire::http::Proxy::GATEWAY "DIRECT"); everything else through apt's proxy.
ide_hosts() {
  local name package repo _rest hosts=""
  while read -r name package repo _rest; do
    [[ -n "${name:-}" ]] || continue
    repo="${repo#*://}"
    hosts+="${hosts:+,}${repo%%[:/]*}"
  done <<<"$BENCH_IDES"
  printf '%s' "$hosts"
}

# Once per host (a marker file): lists, eatmydata, the IDE sources. Untimed.
prepare() {
  local marker="$BENCH_ROOT/var/lib/bench-floor-prepared"
  [[ ! -e "$marker" ]] || return 0
  mkdir -p "$(dirname "$marker")"
  # eatmydata itself (2 small packages) is installed untimed; the image has curl.
  apt-get "${APT_OPTS[@]}" update >&2
  apt-get "${APT_OPTS[@]}" install --no-install-recommends eatmydata >&2
  add_ide_sources
  apt-get "${APT_OPTS[@]}" update >&2
  : >"$marker"
}

download_floor() {
  local archives="$BENCH_ROOT/var/cache/apt/archives" config uri file size _hash files=0 bytes=0 t0 t1 HTTP_PROXY_URL=""
  local -a fetched=()
  config="$(mktemp)"
  mkdir -p "$archives/partial"
  while read -r uri file size _hash; do
    [[ -n "${uri:-}" ]] || continue
    printf 'url = "%s"\noutput = "%s/partial/%s"\n' "${uri//\'/}" "$archives" "$file" >>"$config"
    fetched+=("$file")
    files=$((files + 1))
    bytes=$((bytes + size))
  done < <(apt-get -qq --print-uris install --no-install-recommends "$@")
  ((files > 0)) || { echo "download: apt has nothing to fetch (already in $archives?)" >&2; exit 2; }
  eval "$(apt-config shell HTTP_PROXY_URL Acquire::http::Proxy)"
  t0="$(usec)"
  http_proxy="$HTTP_PROXY_URL" no_proxy="$(ide_hosts)" \
    curl --parallel --parallel-max "${BENCH_PARALLEL:-8}" --fail --silent --show-error -K "$config" >&2
  t1="$(usec)"
  rm -f "$config"
  for file in "${fetched[@]}"; do
    if [[ "${BENCH_KEEP:-1}" == 0 ]]; then
      rm -f "$archives/partial/$file"
    else
      mv "$archives/partial/$file" "$archives/$file"
    fi
  done
  timing download "$((t1 - t0))"
  printf '::bench-download:: {"files":%d,"bytes":%d}\n' "$files" "$bytes"
}

main() {
  local t0 t1 t2
  local -a packages ides
  read -r -a packages <<<"$BENCH_PACKAGES"
  mapfile -t ides < <(ide_packages)
  t0="$(usec)"
  prepare
  if [[ "$BENCH_MODE" == download ]]; then
    download_floor "${packages[@]}" "${ides[@]}"
    return 0
  fi
  if [[ "$BENCH_MODE" == warm ]]; then
    apt-get "${APT_OPTS[@]}" install --download-only "${packages[@]}" "${ides[@]}" >&2
    apt-get clean
    apt-get "${APT_OPTS[@]}" install --download-only --no-install-recommends "${packages[@]}" "${ides[@]}" >&2
    timing warm "$(($(usec) - t0))"
    return 0
  fi
  [[ "$BENCH_MODE" == floor ]] || { echo "BENCH_MODE must be floor, download or warm, got '$BENCH_MODE'" >&2; exit 2; }
  printf 'man-db man-db/auto-update boolean false\n' | debconf-set-selections
  rm -f "$BENCH_ROOT/var/lib/man-db/auto-update"
  apt-get "${APT_OPTS[@]}" install --download-only --no-install-recommends "${packages[@]}" "${ides[@]}" >&2
  t1="$(usec)"
  timing prepare "$((t1 - t0))"
  eatmydata apt-get "${APT_OPTS[@]}" install --no-install-recommends "${packages[@]}" "${ides[@]}" </dev/null >&2
  t2="$(usec)"
  timing install "$((t2 - t1))"
}

# stdin is the script itself when it arrives on `bash -s`: keep every command off it.
main "$@" </dev/null
