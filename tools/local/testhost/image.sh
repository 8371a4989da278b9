#!/usr/bin/env bash
# Sourced by tools/local/testhost.sh (not run on its own): the Debian image: its build, its cache key, its tarball.
# It uses the settings and log/die that testhost.sh defines before sourcing it.
# ---------------------------------------------------------------------------------------
# Image

# Everything below that changes the image is inside this function: its text is part of
# the cache key, so editing it rebuilds the image.
configure_image_root() {
  local root="$1" mirror="$2"
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # cloud-init as on a droplet, but only the NoCloud seed, no network probing and no
  # network rendering (the veth is configured from the host before boot).
  mkdir -p "$root/etc/cloud/cloud.cfg.d" "$root/var/lib/cloud/seed/nocloud"
  cat >"$root/etc/cloud/cloud.cfg.d/90-workstation-testhost.cfg" <<'EOF'
# workstation local test host: seeded NoCloud only, like a droplet's user data.
datasource_list: [NoCloud]
network: {config: disabled}
# Root keeps the droplet's SSH keys (DigitalOcean images allow root login too).
disable_root: false
# Host keys are generated per host before boot; sources are the image's own.
ssh_deletekeys: false
ssh_genkeytypes: []
apt: {preserve_sources_list: true}
manage_etc_hosts: false
preserve_hostname: true
growpart: {mode: "off"}
resize_rootfs: false
EOF
  # Host keys and machine id are written per host at boot time, not shared by the image.
  rm -f "$root"/etc/ssh/ssh_host_*
  : >"$root/etc/machine-id"
  mkdir -p "$root/root/.ssh"
  chmod 700 "$root/root/.ssh"
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log
  # Documentation and translations are a third of the files and a quarter of the bytes,
  # and extraction time per host follows the file count. Packages installed later still
  # bring their own (no dpkg path-exclude: installs cost what they cost on a droplet).
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
  mkdir -p "$root/var/lib/apt/lists/partial"
}

image_key() {
  {
    printf '%s\n' "$SUITE" "$IMAGE_PACKAGES" "$(debian_mirror)"
    declare -f configure_image_root
  } | sha256sum | cut -c1-16
}

# What a build killed with SIGKILL leaves: its build dir (with debootstrap's /proc and /sys
# mounts still in it) and a partial tarball. Called under the build lock, when no build runs.
clear_stale_builds() {
  local dir mnt
  for dir in "$CACHE_DIR"/images/.build.*/; do
    [[ -d "$dir" ]] || continue
    dir="${dir%/}"
    log "removing $dir, left by an interrupted image build"
    while read -r mnt; do
      umount -l "$mnt" 2>/dev/null || true
    done < <(findmnt -rn -o TARGET | awk -v d="$dir/" 'index($0, d) == 1' | sort -r)
    rm -rf --one-file-system "$dir" || log "could not remove $dir entirely"
  done
  rm -f "$CACHE_DIR"/images/*.tar.zst.tmp
}

image_path() { printf '%s/images/debian-%s-%s.tar.zst\n' "$CACHE_DIR" "$SUITE" "$(image_key)"; }

cmd_image() {
  require_root image
  ensure_tools
  local tarball
  tarball="$(image_path)"
  if [[ -s "$tarball" ]]; then
    printf '%s\n' "$tarball"
    return 0
  fi
  mkdir -p "$(dirname "$tarball")"
  local lock="$CACHE_DIR/images/.build.lock"
  exec {lockfd}>"$lock"
  flock "$lockfd"
  if [[ -s "$tarball" ]]; then # built by a concurrent caller while we waited
    printf '%s\n' "$tarball"
    return 0
  fi
  clear_stale_builds
  local start build mirror
  start="$(now)"
  mirror="$(debian_mirror)"
  build="$(mktemp -d "$CACHE_DIR/images/.build.XXXXXX")"
  # shellcheck disable=SC2064 # expand now: the trap must remove this build dir
  trap "rm -rf '$build' '$tarball.tmp'" EXIT
  trap 'exit 130' INT TERM
  log "building the $SUITE image from $mirror (about a minute)"
  if ! debootstrap --variant=minbase --include="$IMAGE_PACKAGES" "$SUITE" "$build/root" "$mirror" \
    >"$build/debootstrap.log" 2>&1 </dev/null; then
    tail -n 30 "$build/debootstrap.log" >&2
    die "debootstrap failed (full log above, last 30 lines)"
  fi
  configure_image_root "$build/root" "$mirror"
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$build/root" -cf - . |
    zstd -q -f -3 -T0 -o "$tarball.tmp"
  mv "$tarball.tmp" "$tarball"
  rm -rf "$build"
  trap - EXIT INT TERM
  exec {lockfd}>&-
  log "image built in $(elapsed "$start") s: $tarball ($(du -h "$tarball" | cut -f1))"
  printf '%s\n' "$tarball"
}
