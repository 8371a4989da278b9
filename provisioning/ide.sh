#!/usr/bin/env bash
# ide (ide-vscode, ide-cursor, ide-antigravity): one IDE from its vendor's apt repository.
#
# The three IDE stages run at the same time on one host (and next to desktop), so:
# - the source is written in deb822 form under the name and with the Signed-By path the
#   vendor's own package writes (else the next `apt-get update` fails with "Conflicting
#   values set for option Signed-By");
# - the index refresh and the download use this IDE's private Dir::State::Lists and
#   Dir::Cache (so their own lists and archives locks): the big downloads overlap and
#   never wait for the shared /var/lib/apt/lists/lock or /var/cache/apt/archives/lock;
#   only the IDE's own source is read (Dir::Etc::sourcelist, sourceparts "-",
#   APT::Get::List-Cleanup 0);
# - the downloaded .deb is installed with the shared lists (its dependencies come from
#   the distribution) and the private dir as archives, under DPkg::Lock::Timeout:
#   installs queue on the dpkg lock instead of failing;
# - the IDE's index files are then copied into /var/lib/apt/lists, so apt knows the
#   repository at once (apt-cache policy, upgrades) without another download.
#
# Which package: WS_IDE_CANDIDATES lists `package=command` pairs in order of preference
# (vendors rename packages: antigravity became antigravity-ide). After the private index
# refresh, the first candidate the repository offers (apt-cache policy against this
# source only) is installed; the choice is printed, recorded in $WS_VAR_DIR/ide/IDE.choice
# (verify reads it) and printed as the stage's result.
# shellcheck source-path=SCRIPTDIR source=lib.sh
[[ -n "${WS_LIB_LOADED:-}" ]] || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WS_STAGE="${WS_STAGE:-ide-${WS_IDE:-unknown}}"

ide_source_path() { printf '/etc/apt/sources.list.d/%s' "$WS_IDE_SOURCE_NAME"; }
ide_private_dir() { printf '%s/apt/%s' "$WS_VAR_DIR" "$WS_IDE"; }
ide_choice_path() { printf '%s/ide/%s.choice' "$WS_VAR_DIR" "$WS_IDE"; }

# The chosen candidate, set by ide_choose or read back from the record.
WS_IDE_PACKAGE=""
WS_IDE_COMMAND=""

ide_source_text() {
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\nArchitectures: %s\nSigned-By: %s' \
    "$WS_IDE_REPO_URL" "$WS_IDE_SUITE" "$WS_IDE_COMPONENTS" "$(dpkg --print-architecture)" "$WS_IDE_KEYRING"
}

# The source is right when it names the repository and the keyring (the vendor's
# package may rewrite the file with other fields; those two are what must match).
ide_source_ok() {
  local file
  file="$(ide_source_path)"
  [[ -f "$file" ]] &&
    grep -qxF "URIs: $WS_IDE_REPO_URL" "$file" &&
    grep -qxF "Signed-By: $WS_IDE_KEYRING" "$file"
}

# apt options that confine apt to this IDE's source and private state.
ide_private_opts() {
  local dir
  dir="$(ide_private_dir)"
  printf '%s\n' \
    -o "Dir::State::Lists=$dir/lists/" \
    -o "Dir::Cache=$dir/cache/" \
    -o "Dir::Etc::sourcelist=$(ide_source_path)" \
    -o "Dir::Etc::sourceparts=-" \
    -o "APT::Get::List-Cleanup=0"
}

ide_check_vars() {
  local v
  for v in WS_IDE WS_IDE_REPO_URL WS_IDE_SUITE WS_IDE_COMPONENTS WS_IDE_KEY_URL WS_IDE_KEYRING WS_IDE_SOURCE_NAME WS_IDE_CANDIDATES; do
    [[ -n "${!v:-}" ]] || ws_fail check-config "$v must be set"
  done
  local pair
  for pair in $WS_IDE_CANDIDATES; do
    [[ "$pair" =~ ^[a-z0-9][a-z0-9+.-]+=[A-Za-z0-9_.+-]+$ ]] ||
      ws_fail check-config "WS_IDE_CANDIDATES entry '$pair' must be package=command"
  done
  [[ "$WS_IDE" =~ ^[a-z0-9-]+$ ]] || ws_fail check-config "WS_IDE '$WS_IDE' must be lower case letters, digits and -"
  [[ "$WS_IDE_SOURCE_NAME" =~ ^[A-Za-z0-9._-]+\.sources$ ]] || ws_fail check-config "WS_IDE_SOURCE_NAME '$WS_IDE_SOURCE_NAME' must be a file name ending in .sources"
  [[ "$WS_IDE_KEYRING" == /* ]] || ws_fail check-config "WS_IDE_KEYRING '$WS_IDE_KEYRING' must be an absolute path"
}

# Fetch the signing key; dearmor it when it is armored.
ide_key() {
  local raw="$WS__TMP/key.raw" out="$WS__TMP/key.gpg"
  ws_run curl -fsSL --retry 3 --connect-timeout 20 -o "$raw" "$WS_IDE_KEY_URL"
  if grep -q -- '-----BEGIN PGP' "$raw"; then
    install -d -m 0700 "$WS__TMP/gnupg"
    GNUPGHOME="$WS__TMP/gnupg" ws_run gpg --batch --yes --dearmor -o "$out" "$raw"
  else
    cp "$raw" "$out"
  fi
  install -D -m 0644 "$out" "$WS_IDE_KEYRING.ws.tmp"
  mv -f "$WS_IDE_KEYRING.ws.tmp" "$WS_IDE_KEYRING"
  echo "key: $WS_IDE_KEYRING ($(wc -c <"$WS_IDE_KEYRING") bytes)"
}

ide_source() {
  local file other
  file="$(ide_source_path)"
  ws_write_file "$file" 0644 "$(ide_source_text)"
  echo "source: $file"
  # A leftover one-line source for the same repository with another key breaks apt.
  for other in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f "$other" && "$other" != "$file" ]] || continue
    if grep -qF "$WS_IDE_REPO_URL" "$other"; then
      ws_warn "$other also names $WS_IDE_REPO_URL: apt may report conflicting Signed-By values"
    fi
  done
}

# Private index refresh of this IDE's source only.
ide_lists() {
  local dir
  dir="$(ide_private_dir)"
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs/partial"
  if id -u _apt >/dev/null 2>&1; then
    chown _apt:root "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs" "$dir/debs/partial"
  fi
  local -a opts
  mapfile -t opts < <(ide_private_opts)
  local log="$WS__TMP/lists.log" rc=0 why
  ws_apt_get "${opts[@]}" update 2>&1 | tee "$log" || rc=$?
  # The private lists hold this repository alone, so any fetch or signature error is
  # its own; apt-get update exits 0 on some of them (it warns and keeps no lists).
  if ((rc == 0)) && grep -Eq '^(W|E): (Failed to fetch|GPG error|The repository .* (is not signed|does not have a Release file))' "$log"; then
    rc=1
  fi
  if ((rc != 0)); then
    why="$(awk '/^E: / { print; exit }' "$log")"
    [[ -n "$why" ]] || why="$(awk '/^W: / { print; exit }' "$log")"
    echo "IDE $WS_IDE: its repository $WS_IDE_REPO_URL ($WS_IDE_SUITE $WS_IDE_COMPONENTS) could not be read${why:+: $why}"
    return "$rc"
  fi
}

# Is PACKAGE offered by this IDE's repository? Asked of the private lists only, with an
# empty dpkg status so that an installed package the repository no longer offers does
# not count.
ide_offered() {
  local pkg="$1" candidate
  local -a opts
  mapfile -t opts < <(ide_private_opts)
  candidate="$(apt-cache "${opts[@]}" -o Dir::State::status=/dev/null policy "$pkg" 2>/dev/null |
    awk '$1 == "Candidate:" { print $2; exit }')"
  [[ -n "$candidate" && "$candidate" != "(none)" ]]
}

# The first candidate the repository offers; a clear error when it offers none.
ide_choose() {
  local pair pkg names=""
  for pair in $WS_IDE_CANDIDATES; do names+="${names:+, }${pair%%=*}"; done
  for pair in $WS_IDE_CANDIDATES; do
    pkg="${pair%%=*}"
    if ide_offered "$pkg"; then
      WS_IDE_PACKAGE="$pkg"
      WS_IDE_COMMAND="${pair#*=}"
      printf '%s=%s\n' "$WS_IDE_PACKAGE" "$WS_IDE_COMMAND" >"$WS__TMP/choice"
      echo "chosen: $WS_IDE_PACKAGE (command $WS_IDE_COMMAND), the first of [$names] that $WS_IDE_REPO_URL offers"
      return 0
    fi
    echo "not offered: $pkg"
  done
  ws__set_cmd "apt-cache policy $names"
  echo "IDE $WS_IDE: the repository $WS_IDE_REPO_URL ($WS_IDE_SUITE $WS_IDE_COMPONENTS) offers none of the candidates [$names]; set workstation:ideSources.$WS_IDE.candidates to a package it offers"
  return 1
}

# Record the choice for later runs and for verify (atomic rename).
ide_record_choice() {
  local file
  file="$(ide_choice_path)"
  ws_write_file "$file" 0644 "$WS_IDE_PACKAGE=$WS_IDE_COMMAND"
  echo "recorded: $file"
}

# The recorded choice, when it is still one of the candidates; sets WS_IDE_PACKAGE/COMMAND.
ide_recorded_choice() {
  local file pair recorded
  file="$(ide_choice_path)"
  [[ -s "$file" ]] || return 1
  recorded="$(head -n 1 "$file")"
  for pair in $WS_IDE_CANDIDATES; do
    if [[ "$pair" == "$recorded" ]]; then
      WS_IDE_PACKAGE="${pair%%=*}"
      WS_IDE_COMMAND="${pair#*=}"
      return 0
    fi
  done
  return 1
}

# ide_result [VERSION]: the result line; the installed version is looked up unless given.
ide_result() {
  local version="${1-}"
  [[ -n "$version" ]] || version="$(dpkg-query -W -f='${Version}' "$WS_IDE_PACKAGE" 2>/dev/null)" || version=""
  ws_result "{\"ide\":$(ws_json_str "$WS_IDE"),\"package\":$(ws_json_str "$WS_IDE_PACKAGE"),\"command\":$(ws_json_str "$WS_IDE_COMMAND"),\"version\":$(ws_json_str "$version")}"
}

# Download the package alone (its dependencies come from the distribution at install).
ide_download() {
  local dir
  dir="$(ide_private_dir)"
  local -a opts
  mapfile -t opts < <(ide_private_opts)
  rm -f "$dir/debs/"*.deb
  cd "$dir/debs"
  ws_apt_get "${opts[@]}" download "$WS_IDE_PACKAGE"
  ls -l "$dir/debs/"
}

ide_install() {
  local dir
  local -a debs
  dir="$(ide_private_dir)"
  debs=("$dir/debs/"*.deb)
  if [[ ! -e "${debs[0]}" ]]; then
    ws__set_cmd "ls $dir/debs/*.deb"
    echo "no .deb downloaded for $WS_IDE_PACKAGE"
    return 1
  fi
  # Batched: one dpkg run with the other IDEs' packages (and whatever else waits then).
  # The batch links the .deb into its archives dir: apt finds the package there already
  # downloaded (no 100+ MB copy into /var/cache/apt/archives, and no new download when
  # the shared lists know the repository).
  ws_apt_install_batched "${debs[@]}"
  rm -f "$dir/debs/"*.deb
  if ! command -v "$WS_IDE_COMMAND" >/dev/null 2>&1; then
    ws__set_cmd "command -v $WS_IDE_COMMAND"
    echo "$WS_IDE_PACKAGE is installed but provides no '$WS_IDE_COMMAND' command"
    return 1
  fi
  echo "installed: $(dpkg-query -W -f='${Package} ${Version}' "$WS_IDE_PACKAGE")"
}

# Copy the IDE's index files into the shared lists (atomic renames; no lock needed).
ide_publish_lists() {
  local dir f name
  dir="$(ide_private_dir)"
  for f in "$dir/lists/"*; do
    [[ -f "$f" ]] || continue
    name="${f##*/}"
    [[ "$name" != lock ]] || continue
    cp -p "$f" "/var/lib/apt/lists/.$name.ws.tmp"
    mv -f "/var/lib/apt/lists/.$name.ws.tmp" "/var/lib/apt/lists/$name"
    echo "lists: $name"
  done
}

# True when the recorded choice is installed with its command on PATH; sets
# WS_IDE_VERSION (one dpkg-query: each parses the whole status database).
WS_IDE_VERSION=""
ide_installed() {
  local status
  ide_recorded_choice || return 1
  status="$(dpkg-query -W -f='${db:Status-Abbrev}|${Version}' "$WS_IDE_PACKAGE" 2>/dev/null)" || return 1
  WS_IDE_VERSION="${status#*|}"
  [[ "$status" == "ii "* ]] && command -v "$WS_IDE_COMMAND" >/dev/null 2>&1
}

ide_main() {
  ide_check_vars

  if ide_installed && ide_source_ok && [[ -s "$WS_IDE_KEYRING" ]]; then
    ws_log "$WS_IDE_PACKAGE $WS_IDE_VERSION installed (command $WS_IDE_COMMAND), $(ide_source_path) in place"
    ws_skip key "$WS_IDE_KEYRING present"
    ws_skip source "$(ide_source_path) in place"
    ws_skip install "$WS_IDE_PACKAGE installed"
    ide_result "$WS_IDE_VERSION"
    return 0
  fi

  if [[ -s "$WS_IDE_KEYRING" ]] && ide_source_ok; then
    ws_skip key "$WS_IDE_KEYRING present"
  else
    ws_step key ide_key
  fi
  if ws_file_is "$(ide_source_path)" "$(ide_source_text)" || ide_source_ok; then
    ws_skip source "$(ide_source_path) in place"
  else
    ws_step source ide_source
  fi
  if ide_installed; then
    ws_skip install "$WS_IDE_PACKAGE installed"
    ide_result
    return 0
  fi
  ws_step lists ide_lists
  # ws_step runs in a subshell: the choice comes back through a file.
  ws_step choose ide_choose
  IFS='=' read -r WS_IDE_PACKAGE WS_IDE_COMMAND <"$WS__TMP/choice"
  ws_log "installing $WS_IDE_PACKAGE (command $WS_IDE_COMMAND)"
  ws_step download ide_download
  ws_step install ide_install
  ws_step record-choice ide_record_choice
  ws_step publish-lists ide_publish_lists
  ide_result
}

ws_main ide_main
