#!/usr/bin/env bash
# Builds the stand-in IDE apt repositories the local runner points the IDE stages at
# (the vendors' repositories are out of reach here).
#
#   standin-repo.sh build OUTDIR
#
# OUTDIR gets one signed repository per vendor, each in the layout its vendor uses, so
# that the three deb822 sources the IDE stages write never share a URI (apt refuses one
# URI with two Signed-By values):
#   OUTDIR/code/dists/stable/main/binary-amd64/Packages         package code
#   OUTDIR/cursor/dists/stable/main/binary-amd64/Packages       package cursor
#   OUTDIR/antigravity/dists/antigravity-debian/main/...        packages antigravity-ide
#                                                               and antigravity
#   OUTDIR/key.asc                                              armored public key
# Each Release is signed (InRelease and Release.gpg) by a test key made once per cache dir
# ($CACHE_DIR/standin-key) and kept, as a vendor keeps its key: a host that trusted it in
# one run (a run stopped half-way, then --reuse) still verifies the next build's indexes.
#
# The packages behave like the vendors' where it matters to provisioning:
# - sizes near the real downloads (code 100 MB, cursor 150 MB, antigravity-ide 120 MB) of
#   random, incompressible data, so a .deb really is that big; WS_STANDIN_PAYLOAD_MB=N
#   makes every payload N MB instead (quick runs);
# - code's and cursor's postinst rewrite their vendor's apt source on every install, as
#   microsoft/vscode's resources/linux/debian/postinst.template does: deb822
#   sources.list.d/vscode.sources (cursor.sources) with Signed-By
#   /usr/share/keyrings/microsoft.gpg (anysphere.gpg), the one-line vscode.list
#   (cursor.list) deleted, nothing written when debconf code/add-microsoft-repo
#   (cursor/add-cursor-repo) is false. The "vendor URL" they write is the stand-in
#   repository as the test host sees it: http://GATEWAY:PORT/REPO, GATEWAY being the
#   address testhost.sh exempts from the apt proxy (Acquire::http::Proxy::GATEWAY
#   "DIRECT"), PORT WS_STANDIN_PORT (8742) at build time;
# - the Antigravity repository offers both antigravity-ide (the IDE, command
#   antigravity-ide) and antigravity (Google's agent manager since May 2026, command
#   antigravity), as the real one does after the rename.
# They are built once and cached in
# ${WS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/workstation}/standin-debs/.
set -euo pipefail

CACHE_DIR="${WS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/workstation}"
# Empty: each package's realistic size (below); a number: every payload that many MB.
PAYLOAD_MB="${WS_STANDIN_PAYLOAD_MB:-}"
PORT="${WS_STANDIN_PORT:-8742}"
readonly CACHE_DIR PAYLOAD_MB PORT
# repo:suite:package:version:command:realistic payload MB:vendor source its postinst writes (or -)
# The agent manager's size is not known here; it is never downloaded by default.
readonly PACKAGES=(
  "code:stable:code:1.99.0-1744000000:code:100:vscode"
  "cursor:stable:cursor:1.0.0:cursor:150:cursor"
  "antigravity:antigravity-debian:antigravity-ide:1.20.0-1:antigravity-ide:120:-"
  "antigravity:antigravity-debian:antigravity:2.0.0-1:antigravity:10:-"
)

log() { printf 'standin-repo: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The host tools come from the project's one list (tools/setup.sh).
ensure_tools() {
  bash "$(dirname "${BASH_SOURCE[0]}")/../setup.sh" >&2
}

# The vendor source a postinst writes: file base name, keyring, debconf question.
vendor_source() {
  case "$1" in
    vscode) echo "vscode /usr/share/keyrings/microsoft.gpg code/add-microsoft-repo" ;;
    cursor) echo "cursor /usr/share/keyrings/anysphere.gpg cursor/add-cursor-repo" ;;
    *) die "no vendor source $1" ;;
  esac
}

# Write DEBIAN/postinst and DEBIAN/templates into WORK for a package that keeps its
# vendor's apt source (VENDOR: vscode or cursor) for repository REPO, suite SUITE.
write_postinst() {
  local work="$1" vendor="$2" repo="$3" suite="$4" base keyring question
  read -r base keyring question <<<"$(vendor_source "$vendor")"
  cat >"$work/DEBIAN/templates" <<EOF
Template: $question
Type: boolean
Default: true
Description: Add the $vendor apt repository (stand-in)?
 The package would like to add its vendor's repository and signing key.
EOF
  cat >"$work/DEBIAN/postinst" <<EOF
#!/bin/sh
# Stand-in for the vendor's postinst: like microsoft/vscode's postinst.template, it
# rewrites the vendor's apt source on every install in deb822 form with the vendor's
# Signed-By path and removes the one-line list, unless debconf $question is false.
# Nothing on stdout: debconf's protocol runs over it once confmodule is loaded.
set -e
eval "\$(apt-config shell APT_SOURCE_PARTS Dir::Etc::sourceparts/d)"
LIST="\${APT_SOURCE_PARTS}$base.list"
SOURCES="\${APT_SOURCE_PARTS}$base.sources"
KEYRING=$keyring
RET=true
if [ -e /usr/share/debconf/confmodule ]; then
  . /usr/share/debconf/confmodule
  db_get $question || true
fi
if [ "\$RET" = false ]; then
  echo "$vendor stand-in: debconf $question is false: apt source left alone" >&2
  exit 0
fi
# The stand-in vendor is the repository on the test host's gateway, the one address the
# host reaches without the apt proxy.
GATEWAY="\$(apt-config dump | sed -n 's/^Acquire::http::Proxy::\([0-9.]*\) "DIRECT";\$/\1/;T;p;q')"
if [ -z "\$GATEWAY" ]; then
  echo "$vendor stand-in: no stand-in repository known (no DIRECT proxy exception): apt source left alone" >&2
  exit 0
fi
{
  echo "### THIS FILE IS AUTOMATICALLY CONFIGURED ###"
  echo "# You may comment out this entry, but any other modifications may be lost."
  echo "Types: deb"
  echo "URIs: http://\$GATEWAY:$PORT/$repo"
  echo "Suites: $suite"
  echo "Components: main"
  echo "Architectures: amd64"
  echo "Signed-By: \$KEYRING"
} >"\$SOURCES"
rm -f "\$LIST"
if [ ! -f "\$KEYRING" ]; then
  # The vendor embeds its key; the stand-in serves its cache dir's test key.
  if /usr/lib/apt/apt-helper download-file "http://\$GATEWAY:$PORT/key.asc" "\$KEYRING.asc" >&2 &&
    gpg --dearmor <"\$KEYRING.asc" >"\$KEYRING" 2>/dev/null; then :; else
    echo "$vendor stand-in: could not install \$KEYRING" >&2
  fi
  rm -f "\$KEYRING.asc"
fi
echo "$vendor stand-in: wrote \$SOURCES (Signed-By \$KEYRING)" >&2
exit 0
EOF
  chmod 755 "$work/DEBIAN/postinst"
}

# Build one stand-in package into DEST (a .deb file path).
build_deb() {
  local name="$1" version="$2" dest="$3" command="$4" size_mb="$5" vendor="$6" repo="$7" suite="$8" work
  work="$(mktemp -d)"
  mkdir -p "$work/DEBIAN" "$work/usr/bin" "$work/usr/share/$name-standin"
  if [[ "$vendor" != - ]]; then write_postinst "$work" "$vendor" "$repo" "$suite"; fi
  cat >"$work/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: amd64
Maintainer: workstation local target <standin@localhost>
Section: devel
Priority: optional
Description: stand-in for the $name package (local tests only)
 Installs /usr/bin/$command, which prints a version line for --version,
 and a payload of random data so that downloading it takes real time.
EOF
  cat >"$work/usr/bin/$command" <<EOF
#!/bin/sh
# Stand-in for $name's $command (workstation local target).
case "\${1:-}" in
  --version | -v) printf '%s\n' "$version" "standin $name" "x64" ;;
  *) echo "$name stand-in $version: no program here, only the package" ;;
esac
EOF
  chmod 755 "$work/usr/bin/$command"
  if ((size_mb > 0)); then
    head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$work/usr/share/$name-standin/payload.bin"
  fi
  # Random data does not compress: store it as is, which keeps the build to about a second.
  # A temporary name of this process's own: two builds at once on an empty cache each
  # write their own file, and the rename makes the cached .deb appear whole.
  dpkg-deb --root-owner-group -Znone --build "$work" "$dest.$$.tmp" >/dev/null
  mv -f "$dest.$$.tmp" "$dest"
  rm -rf "$work"
}

# The cache dir for this recipe, these sizes and this port (the postinsts name the port).
debs_dir() {
  local sizes=real
  if [[ -n "$PAYLOAD_MB" ]]; then sizes="${PAYLOAD_MB}mb"; fi
  printf '%s/standin-debs/v2-%s-port%s' "$CACHE_DIR" "$sizes" "$PORT"
}

cached_debs() {
  local dir entry repo suite name version command real vendor size
  dir="$(debs_dir)"
  mkdir -p "$dir"
  for entry in "${PACKAGES[@]}"; do
    IFS=: read -r repo suite name version command real vendor <<<"$entry"
    size="${PAYLOAD_MB:-$real}"
    if [[ ! -s "$dir/${name}_${version}_amd64.deb" ]]; then
      log "building stand-in package $name $version (${size} MB payload)"
      build_deb "$name" "$version" "$dir/${name}_${version}_amd64.deb" "$command" "$size" "$vendor" "$repo" "$suite"
    fi
  done
  printf '%s\n' "$dir"
}

# Index and sign one vendor repository under OUT/REPO with suite SUITE.
index_repo() {
  local out="$1" repo="$2" suite="$3"
  local root="$out/$repo" bin="dists/$suite/main/binary-amd64"
  mkdir -p "$root/$bin"
  (
    cd "$root"
    apt-ftparchive packages pool >"$bin/Packages"
    gzip -9nk "$bin/Packages"
    apt-ftparchive \
      -o "APT::FTPArchive::Release::Origin=workstation-standin" \
      -o "APT::FTPArchive::Release::Label=$repo stand-in" \
      -o "APT::FTPArchive::Release::Suite=$suite" \
      -o "APT::FTPArchive::Release::Codename=$suite" \
      -o "APT::FTPArchive::Release::Architectures=amd64" \
      -o "APT::FTPArchive::Release::Components=main" \
      release "dists/$suite" >"dists/$suite/Release.tmp"
    mv "dists/$suite/Release.tmp" "dists/$suite/Release"
    gpg --batch --yes --pinentry-mode loopback --passphrase '' --clearsign \
      -o "dists/$suite/InRelease" "dists/$suite/Release"
    gpg --batch --yes --pinentry-mode loopback --passphrase '' --armor --detach-sign \
      -o "dists/$suite/Release.gpg" "dists/$suite/Release"
  )
}

# The signing key's GNUPGHOME, made once per cache dir: generated in a temporary dir
# beside it and renamed into place, so two builds at once never make two keys (the
# second rename fails and that build uses the first one's key).
signing_key_dir() {
  local dir="$CACHE_DIR/standin-key" tmp
  if [[ ! -d "$dir" ]]; then
    mkdir -p "$CACHE_DIR"
    tmp="$(mktemp -d "$CACHE_DIR/.standin-key.XXXXXX")"
    gpg --homedir "$tmp" --batch --quiet --pinentry-mode loopback --passphrase '' \
      --quick-gen-key "workstation stand-in IDE repository <standin@localhost>" ed25519 sign never 2>/dev/null </dev/null
    gpgconf --homedir "$tmp" --kill all >/dev/null 2>&1 || true
    rm -rf "$tmp"/S.* "$tmp"/*.lock "$tmp"/.#* 2>/dev/null || true
    mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
  fi
  printf '%s\n' "$dir"
}

cmd_build() {
  local out="${1:?usage: build OUTDIR}"
  ensure_tools
  local debs entry repo suite name version
  [[ -z "$PAYLOAD_MB" || "$PAYLOAD_MB" =~ ^[0-9]+$ ]] || die "WS_STANDIN_PAYLOAD_MB must be a whole number of MB, got '$PAYLOAD_MB'"
  [[ "$PORT" =~ ^[0-9]+$ ]] || die "WS_STANDIN_PORT must be a TCP port, got '$PORT'"
  debs="$(cached_debs)"
  mkdir -p "$out"
  local keydir
  keydir="$(signing_key_dir)"
  # Signing happens in a copy: gpg's agent and lock files stay out of the shared key dir.
  GNUPGHOME="$(mktemp -d)"
  export GNUPGHOME
  # shellcheck disable=SC2064 # expand now
  trap "gpgconf --homedir '$GNUPGHOME' --kill all >/dev/null 2>&1 || true; rm -rf '$GNUPGHOME'" EXIT
  cp -a "$keydir/." "$GNUPGHOME/"
  gpg --batch --armor --export >"$out/key.asc"
  for entry in "${PACKAGES[@]}"; do
    IFS=: read -r repo suite name version _ <<<"$entry"
    mkdir -p "$out/$repo/pool/main"
    # Hard link when the cache is on the same file system; copy otherwise.
    ln -f "$debs/${name}_${version}_amd64.deb" "$out/$repo/pool/main/" 2>/dev/null ||
      cp "$debs/${name}_${version}_amd64.deb" "$out/$repo/pool/main/"
  done
  # One index per repository, over every package in its pool.
  local -A indexed=()
  for entry in "${PACKAGES[@]}"; do
    IFS=: read -r repo suite _ <<<"$entry"
    [[ -z "${indexed[$repo]:-}" ]] || continue
    indexed[$repo]=1
    index_repo "$out" "$repo" "$suite"
  done
  log "built in $out"
}

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  *) die "usage: standin-repo.sh build OUTDIR" ;;
esac
