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
#   OUTDIR/antigravity/dists/antigravity-debian/main/...        package antigravity
#   OUTDIR/key.asc                                              armored public key
# Each Release is signed (InRelease and Release.gpg) by a throwaway key generated for
# this build (GNUPGHOME in a temp dir, removed afterwards).
#
# The packages (each /usr/bin/NAME answering --version, plus WS_STANDIN_PAYLOAD_MB of
# random data, default 20, so a download takes real time) are built once and cached in
# ${WS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/workstation}/standin-debs/.
set -euo pipefail

CACHE_DIR="${WS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/workstation}"
PAYLOAD_MB="${WS_STANDIN_PAYLOAD_MB:-20}"
readonly CACHE_DIR PAYLOAD_MB
# name:version:suite
readonly PACKAGES=("code:1.99.0-1744000000:stable" "cursor:1.0.0:stable" "antigravity:1.0.0-1:antigravity-debian")

log() { printf 'standin-repo: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The host tools come from the project's one list (tools/setup.sh).
ensure_tools() {
  bash "$(dirname "${BASH_SOURCE[0]}")/../tools/setup.sh" >&2
}

# Build one stand-in package into DEST (a .deb file path).
build_deb() {
  local name="$1" version="$2" dest="$3" work
  work="$(mktemp -d)"
  mkdir -p "$work/DEBIAN" "$work/usr/bin" "$work/usr/share/$name-standin"
  cat >"$work/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: amd64
Maintainer: workstation local target <standin@localhost>
Section: devel
Priority: optional
Description: stand-in for the $name IDE package (local tests only)
 Installs /usr/bin/$name, which prints a version line for --version,
 and a payload of random data so that downloading it takes real time.
EOF
  cat >"$work/usr/bin/$name" <<EOF
#!/bin/sh
# Stand-in for the $name IDE (workstation local target).
case "\${1:-}" in
  --version | -v) printf '%s\n' "$version" "standin" "x64" ;;
  *) echo "$name stand-in $version: no IDE here, only the package" ;;
esac
EOF
  chmod 755 "$work/usr/bin/$name"
  if ((PAYLOAD_MB > 0)); then
    head -c "$((PAYLOAD_MB * 1024 * 1024))" /dev/urandom >"$work/usr/share/$name-standin/payload.bin"
  fi
  # Random data does not compress: store it as is, which keeps the build to about a second.
  # A temporary name of this process's own: two builds at once on an empty cache each
  # write their own file, and the rename makes the cached .deb appear whole.
  dpkg-deb --root-owner-group -Znone --build "$work" "$dest.$$.tmp" >/dev/null
  mv -f "$dest.$$.tmp" "$dest"
  rm -rf "$work"
}

cached_debs() {
  local dir="$CACHE_DIR/standin-debs/payload-${PAYLOAD_MB}mb" entry name version
  mkdir -p "$dir"
  for entry in "${PACKAGES[@]}"; do
    IFS=: read -r name version _ <<<"$entry"
    if [[ ! -s "$dir/${name}_${version}_amd64.deb" ]]; then
      log "building stand-in package $name $version (${PAYLOAD_MB} MB payload)"
      build_deb "$name" "$version" "$dir/${name}_${version}_amd64.deb"
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

cmd_build() {
  local out="${1:?usage: build OUTDIR}"
  ensure_tools
  local debs entry name version suite
  debs="$(cached_debs)"
  mkdir -p "$out"
  GNUPGHOME="$(mktemp -d)"
  export GNUPGHOME
  # shellcheck disable=SC2064 # expand now
  trap "gpgconf --homedir '$GNUPGHOME' --kill all >/dev/null 2>&1 || true; rm -rf '$GNUPGHOME'" EXIT
  gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
    --quick-gen-key "workstation stand-in IDE repository <standin@localhost>" ed25519 sign never 2>/dev/null
  gpg --batch --armor --export >"$out/key.asc"
  for entry in "${PACKAGES[@]}"; do
    IFS=: read -r name version suite <<<"$entry"
    mkdir -p "$out/$name/pool/main"
    # Hard link when the cache is on the same file system; copy otherwise.
    ln -f "$debs/${name}_${version}_amd64.deb" "$out/$name/pool/main/" 2>/dev/null ||
      cp "$debs/${name}_${version}_amd64.deb" "$out/$name/pool/main/"
    index_repo "$out" "$name" "$suite"
  done
  log "built in $out"
}

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  *) die "usage: standin-repo.sh build OUTDIR" ;;
esac
