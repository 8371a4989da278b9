#!/usr/bin/env bash
# home-volume: puts /home on the DigitalOcean volume that outlives the droplet.
# Finds the volume where DigitalOcean exposes it, formats it only when it holds no
# filesystem, copies the droplet's /home onto it the first time (copy, then mark, then
# swap: an interruption leaves /home as it was and the next run copies again), and
# mounts it on /home by UUID with nofail, so a droplet whose volume is missing still
# boots. The workstation user's UID and GID are fixed, so the files keep their owner on
# every new droplet.
# Variables: WS_USERNAME, WS_HOME_VOLUME_NAME, WS_UID, WS_GID.
# shellcheck source-path=SCRIPTDIR source=lib.sh
[[ -n "${WS_LIB_LOADED:-}" ]] || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WS_STAGE="${WS_STAGE:-home-volume}"

readonly HV_BY_ID=/dev/disk/by-id
# Written on the volume once the copy of /home is complete.
readonly HV_MARKER=.workstation-home-volume
readonly HV_FSTAB_TAG="# workstation home volume"
# Cloud images carry e2fsprogs; a minimal Debian (the local test host) may not. On a
# fresh droplet this stage runs before system-prep, so it installs them itself; a baked
# image has them from system-prep's base packages.
readonly HV_PACKAGES=(e2fsprogs)
HV_STAGING=/mnt/workstation-home-staging

hv_device() { printf '%s/scsi-0DO_Volume_%s' "$HV_BY_ID" "$WS_HOME_VOLUME_NAME"; }

# The attachment reaches the kernel a moment after the API says attached.
hv_wait_device() {
  local dev i
  dev="$(hv_device)"
  for ((i = 0; i < 120; i++)); do
    if [[ -b "$dev" ]]; then
      echo "$dev is there after ${i} s"
      return 0
    fi
    sleep 1
  done
  ws__set_cmd "wait for $dev"
  echo "$dev did not appear within 120 s: is the volume attached to this droplet?"
  return 1
}

# The filesystem type on the device, empty when blank (blkid -p exits 2: no signature).
hv_fstype() {
  local rc=0 type
  type="$(blkid -p -o value -s TYPE "$(hv_device)" 2>/dev/null)" || rc=$?
  if ((rc != 0 && rc != 2)); then return "$rc"; fi
  printf '%s' "$type"
}

hv_format() {
  if ! command -v mkfs.ext4 >/dev/null 2>&1; then
    ws_apt_update_if_stale 3600
    ws_apt_install "${HV_PACKAGES[@]}"
  fi
  ws_run mkfs.ext4 -q -m 0 -L ws-home "$(hv_device)"
}

# The user and its group get the fixed ids (cloud-config sets the UID; useradd makes
# the group's GID equal to it when free, and this repairs it when it was not).
hv_owner() {
  local gid group
  if [[ "$(id -u "$WS_USERNAME")" != "$WS_UID" ]]; then
    ws__set_cmd "id -u $WS_USERNAME"
    echo "$WS_USERNAME has UID $(id -u "$WS_USERNAME"), expected $WS_UID (cloud-config sets it)"
    return 1
  fi
  group="$(id -gn "$WS_USERNAME")"
  gid="$(id -g "$WS_USERNAME")"
  if [[ "$gid" != "$WS_GID" ]]; then
    ws_run groupmod -g "$WS_GID" "$group"
    find /home -xdev -gid "$gid" -exec chgrp -h "$WS_GID" {} +
    echo "group $group: GID $gid changed to $WS_GID"
  fi
}

# Is /home mounted from this device already?
hv_home_on_volume() {
  local src dev
  src="$(findmnt -n -o SOURCE --mountpoint /home 2>/dev/null)" || return 1
  dev="$(readlink -f "$(hv_device)")"
  [[ -n "$src" && "$(readlink -f "$src")" == "$dev" ]]
}

# Copies the droplet's /home onto the volume unless the volume already holds one
# (from this droplet's earlier run or an earlier droplet).
hv_copy_home() {
  mkdir -p "$HV_STAGING"
  ws_run mount "$(hv_device)" "$HV_STAGING"
  if [[ -e "$HV_STAGING/$HV_MARKER" ]]; then
    echo "the volume already holds a home (marker $HV_MARKER): kept as it is"
    echo kept >"$WS__TMP/copied"
  else
    # cp -a keeps owners, modes, times, links and extended attributes.
    ws_run cp -a /home/. "$HV_STAGING/"
    sync
    date -u +%Y-%m-%dT%H:%M:%SZ >"$HV_STAGING/$HV_MARKER"
    sync
    echo "copied /home onto the volume ($(du -sh "$HV_STAGING" | cut -f1))"
    echo copied >"$WS__TMP/copied"
  fi
  ws_run umount "$HV_STAGING"
  rmdir "$HV_STAGING"
}

# One fstab line for /home, by UUID, with nofail so that a missing volume does not
# stop the droplet from booting (the home underneath is then used).
hv_fstab() {
  local uuid type line
  uuid="$(blkid -p -o value -s UUID "$(hv_device)")"
  type="$(hv_fstype)"
  line="UUID=$uuid /home $type defaults,nofail,x-systemd.device-timeout=30s 0 2 $HV_FSTAB_TAG"
  if grep -qxF "$line" /etc/fstab; then
    echo "fstab already mounts UUID=$uuid on /home"
    return 0
  fi
  grep -vF "$HV_FSTAB_TAG" /etc/fstab >"$WS__TMP/fstab" || true
  printf '%s\n' "$line" >>"$WS__TMP/fstab"
  cat "$WS__TMP/fstab" >/etc/fstab
  echo "fstab: $line"
}

hv_mount_home() {
  ws_run mount /home
  findmnt /home
}

home_volume_main() {
  : "${WS_USERNAME:?}" "${WS_HOME_VOLUME_NAME:?}" "${WS_UID:?}" "${WS_GID:?}"
  # The stage's own SSH session started in the user's home; nothing here must hold it.
  cd /
  if [[ -b "$(hv_device)" ]]; then
    ws_skip device "$(hv_device) is there"
  else
    ws_step device hv_wait_device
  fi
  local type formatted=false moved=false
  type="$(hv_fstype)"
  if [[ -n "$type" ]]; then
    ws_skip format "the volume already holds a $type filesystem"
  else
    ws_step format hv_format
    formatted=true
  fi
  if [[ "$(id -u "$WS_USERNAME")" == "$WS_UID" && "$(id -g "$WS_USERNAME")" == "$WS_GID" ]]; then
    ws_skip owner "$WS_USERNAME is $WS_UID:$WS_GID"
  else
    ws_step owner hv_owner
  fi
  if hv_home_on_volume; then
    # The same step names as the run that did the work: step names are stable (README).
    ws_skip copy-home "/home is mounted from the volume"
    ws_skip fstab "/home is mounted from the volume"
    ws_skip mount-home "/home is mounted from the volume"
  else
    ws_step copy-home hv_copy_home
    [[ "$(cat "$WS__TMP/copied")" == copied ]] && moved=true
    ws_step fstab hv_fstab
    ws_step mount-home hv_mount_home
  fi
  local uuid size
  uuid="$(blkid -p -o value -s UUID "$(hv_device)")"
  size="$(blockdev --getsize64 "$(hv_device)")"
  ws_result "{\"device\":$(ws_json_str "$(hv_device)"),\"uuid\":$(ws_json_str "$uuid"),\"sizeBytes\":${size},\"formatted\":${formatted},\"copiedHome\":${moved},\"owner\":\"$(stat -c %u:%g "/home/$WS_USERNAME")\"}"
}

ws_main home_volume_main
