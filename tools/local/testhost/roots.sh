#!/usr/bin/env bash
# Sourced by tools/local/testhost.sh (not run on its own): cached image roots and each host's overlay on one.
# It uses the settings and log/die that testhost.sh defines before sourcing it.
# ---------------------------------------------------------------------------------------
# Cached roots: each image tarball is extracted once, into ROOTS_DIR/KEY/root, and every
# host boots on an overlayfs over it (lower: that root, read-only; upper and work dir in
# the host's own dir). Extracting a baked image took 16 s per host, mounting takes ms.
#
# ROOTS_DIR/KEY/{root/,source}: KEY names the tarball (name, size, mtime, a hash of its path),
# `source` says which tarball it came from ("PATH SIZE MTIME"). An entry appears whole or not
# at all: it is extracted into ROOTS_DIR/.extract.KEY.XXXXXX and renamed into place.
#
# Locks (ROOTS_DIR/.lock): an up holds it shared from "is the root there?" until its overlay
# is mounted, so a root in use is always one that some overlay mounts; pruning holds it
# exclusive and removes only roots no overlay mounts. One extraction per KEY at a time
# (ROOTS_DIR/.KEY.lock): two ups of one image extract it once, the second waits and reuses it.

readonly ROOTS_DIR="$CACHE_DIR/images/roots"

# The key of TARBALL's cached root. A tarball rewritten at its path (a re-bake) gets a new key.
root_key() {
  local tarball="$1" base stamp
  base="$(basename "$tarball" .tar.zst)"
  base="${base//[^A-Za-z0-9._-]/_}"
  stamp="$(stat -c '%s-%.9Y' "$tarball")" || return 1
  printf '%s-%s-%s\n' "$base" "$stamp" "$(printf '%s' "$tarball" | sha256sum | cut -c1-8)"
}

# overlayfs takes its directories in a comma-separated option string (':' separates lower dirs).
check_overlay_paths() {
  local p
  for p in "$@"; do
    [[ "$p" != *[,:=\\[:space:]]* ]] ||
      die "overlayfs cannot mount $p: its path has one of , : = \\ or a space (set WS_CACHE_DIR / WS_STATE_DIR to a plain path)"
  done
}

ROOTS_LOCKED=""
lock_roots_shared() {
  [[ -z "$ROOTS_LOCKED" ]] || return 0
  mkdir -p "$ROOTS_DIR"
  exec {ROOTS_LOCK}>"$ROOTS_DIR/.lock"
  # Only a prune holds it exclusively, and briefly.
  flock -s -w 120 "$ROOTS_LOCK" || die "roots lock $ROOTS_DIR/.lock still held exclusively after 120 s"
  ROOTS_LOCKED=1
}
unlock_roots() {
  [[ -n "$ROOTS_LOCKED" ]] || return 0
  exec {ROOTS_LOCK}>&-
  ROOTS_LOCKED=""
}

# Sets ROOT_LOWER to the cached root of TARBALL, extracted now unless it is there, and
# ROOT_HOW to "cached" or "extracted". Caller holds the roots lock shared (not in a subshell:
# the per-image lock and die must be this shell's).
ROOT_LOWER=""
ROOT_HOW=""
ensure_root() {
  local tarball="$1" key entry tmp lockfd
  [[ -n "$ROOTS_LOCKED" ]] || die "ensure_root needs the roots lock"
  key="$(root_key "$tarball")" || die "cannot read $tarball"
  entry="$ROOTS_DIR/$key"
  ROOT_LOWER="$entry/root"
  ROOT_HOW="cached"
  [[ ! -d "$entry/root" ]] || return 0
  exec {lockfd}>"$ROOTS_DIR/.$key.lock"
  flock -w 600 "$lockfd" || die "$ROOTS_DIR/.$key.lock: another extraction of $tarball still runs after 600 s"
  if [[ -d "$entry/root" ]]; then # extracted by a concurrent up while we waited
    exec {lockfd}>&-
    return 0
  fi
  # Explicit checks: bake calls this where errexit does not apply.
  tmp="$(mktemp -d "$ROOTS_DIR/.extract.$key.XXXXXX")" || die "cannot make a dir in $ROOTS_DIR"
  mkdir "$tmp/root" || die "cannot make $tmp/root"
  # The lock fd is not tar's: a tar outliving us must not keep others waiting.
  if ! tar --numeric-owner --xattrs --xattrs-include='*' -I zstd -C "$tmp/root" -xf "$tarball" {lockfd}>&-; then
    rm -rf --one-file-system "$tmp"
    die "could not extract $tarball into $tmp"
  fi
  printf '%s %s\n' "$tarball" "$(stat -c '%s %.9Y' "$tarball")" >"$tmp/source" || die "cannot write $tmp/source"
  mv -T "$tmp" "$entry" || die "cannot rename $tmp to $entry"
  exec {lockfd}>&-
  ROOT_HOW="extracted"
}

# Is ROOT the lower dir of a mounted overlay (a host's, up or half made)?
root_in_use() {
  findmnt -rn -t overlay -o OPTIONS | tr ',' '\n' | grep -qxF "lowerdir=$1"
}

# Remove the cached roots whose tarball is gone or was rewritten (old snapshots, a re-bake),
# unless an overlay still mounts them, and what killed extractions left. Skipped when
# another command holds the roots lock: it is only housekeeping, the next up does it.
prune_roots() {
  [[ -d "$ROOTS_DIR" ]] || return 0
  local fd entry path size mtime now_size now_mtime
  exec {fd}>"$ROOTS_DIR/.lock"
  if ! flock -n -x "$fd"; then
    exec {fd}>&-
    return 0
  fi
  for entry in "$ROOTS_DIR"/.extract.*/; do # no extraction runs while we hold the lock exclusively
    [[ -d "$entry" ]] || continue
    log "removing ${entry%/}, left by an interrupted extraction"
    rm -rf --one-file-system "${entry%/}"
  done
  for entry in "$ROOTS_DIR"/*/; do
    [[ -d "$entry" ]] || continue
    entry="${entry%/}"
    path="" size="" mtime=""
    read -r path size mtime <"$entry/source" 2>/dev/null || true
    read -r now_size now_mtime < <(stat -c '%s %.9Y' "$path" 2>/dev/null || echo "- -")
    [[ -z "$path" || "$now_size $now_mtime" != "$size $mtime" ]] || continue
    if root_in_use "$entry/root"; then continue; fi
    log "removing cached root $entry (its tarball ${path:-?} is gone or was rewritten)"
    rm -rf --one-file-system "$entry" || log "could not remove $entry entirely"
    rm -f "$ROOTS_DIR/.${entry##*/}.lock"
  done
  exec {fd}>&-
}

# Mount DIR/root: an overlay of LOWER (a cached root) with its upper and work dirs in DIR.
mount_host_root() {
  local dir="$1" lower="$2"
  check_overlay_paths "$lower" "$dir"
  mkdir -p "$dir/root" "$dir/upper" "$dir/work"
  # redirect_dir: renaming a directory of the image works as on a disk (not EXDEV).
  mount -t overlay "wsth-root" -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work,redirect_dir=on" "$dir/root"
}

# Unmount every mount under DIR (the host's overlay root first of all), deepest first; a
# mount still busy after 5 s is detached lazily, so that removing DIR never reaches into
# an image's root through it. Never fails.
unmount_host_dir() {
  local dir="$1" mnt i
  while read -r mnt; do
    for ((i = 0; i < 50; i++)); do
      umount "$mnt" 2>/dev/null && break
      sleep 0.1
    done
    if findmnt -rn -o TARGET | grep -qxF "$mnt"; then
      log "$mnt still busy after 5 s, detaching it"
      umount -l "$mnt" 2>/dev/null || log "could not unmount $mnt"
    fi
  done < <(findmnt -rn -o TARGET | awk -v d="$dir/" 'index($0, d) == 1' | sort -r)
}
