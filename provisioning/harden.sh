#!/usr/bin/env bash
# harden: sshd keys only, no root, the pinned ED25519 host key only (a drop-in validated
# with `sshd -t` before reload), fail2ban's sshd jail (journal backend, WS_SSH_NEVER_BAN
# never banned), the metadata service closed to all but root and do-agent (nftables),
# unattended upgrades on.
# shellcheck source-path=SCRIPTDIR source=lib.sh
[[ -n "${WS_LIB_LOADED:-}" ]] || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WS_STAGE="${WS_STAGE:-harden}"

# sshd keeps the first value it reads for a keyword and reads sshd_config.d/*.conf in
# lexical order: "10-" comes before cloud images' 50-cloud-init.conf, which may say
# `PasswordAuthentication yes`.
readonly HD_SSHD_DROPIN=/etc/ssh/sshd_config.d/10-workstation.conf
# HostKey: the key cloud-init installed from the user data, the one every connection pins.
# Named, sshd serves no other. Other host keys are deleted too: on a first boot (a fresh
# machine-id, as on a droplet) Debian's sshd-keygen.service runs `ssh-keygen -A` after
# cloud-init and adds RSA and ECDSA keys beside it.
readonly HD_HOST_KEY=/etc/ssh/ssh_host_ed25519_key
readonly HD_SSHD_TEXT="# workstation provisioning (provisioning/harden.sh): keys only, no root login
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
MaxAuthTries 4
HostKey $HD_HOST_KEY"
readonly HD_JAIL=/etc/fail2ban/jail.d/workstation-sshd.conf
# The journal backend: trixie has no /var/log/auth.log by default (no rsyslog). Bans go
# through nftables, installed here: without --install-recommends neither nft nor
# iptables is there, and fail2ban would find attackers but ban nobody.
# WS_SSH_NEVER_BAN: space-separated CIDRs (config sshNeverBanCidrs) added to fail2ban's own
# default ignoreip (loopback), so an address of one's own is never locked out.
HD_NEVER_BAN="${WS_SSH_NEVER_BAN:-}"
HD_IGNOREIP=""
if [[ -n "$HD_NEVER_BAN" ]]; then HD_IGNOREIP=$'\n'"ignoreip = 127.0.0.1/8 ::1 $HD_NEVER_BAN"; fi
readonly HD_JAIL_TEXT="# workstation provisioning (provisioning/harden.sh)
[sshd]
enabled = true
backend = systemd
maxretry = 4
banaction = nftables
banaction_allports = nftables[type=allports]$HD_IGNOREIP"
# The metadata service serves the user data, which carries the host's private key, to any
# process that asks. Only root (cloud-init, the droplet agent) and DigitalOcean's monitoring
# agent (do-agent: User=do-agent in its unit, github.com/digitalocean/do-agent packaging/)
# keep it; other users' packets to it are rejected. Loaded by a unit of its own at every
# boot, before the network, so that fail2ban's and other tables are left alone.
readonly HD_METADATA_IP=169.254.169.254
readonly HD_METADATA_TABLE=workstation_metadata
readonly HD_METADATA_NFT=/etc/workstation/metadata-guard.nft
readonly HD_METADATA_UNIT=workstation-metadata-guard.service
readonly HD_METADATA_UNIT_TEXT="[Unit]
Description=Close the metadata service ($HD_METADATA_IP) to all but root and do-agent (workstation harden)
DefaultDependencies=no
After=local-fs.target nftables.service
Before=network-pre.target
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/nft -f $HD_METADATA_NFT
ExecStop=/usr/sbin/nft delete table ip $HD_METADATA_TABLE

[Install]
WantedBy=sysinit.target"
readonly HD_AUTO_UPGRADES=/etc/apt/apt.conf.d/20auto-upgrades
readonly HD_AUTO_UPGRADES_TEXT='APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";'
readonly HD_PACKAGES=(fail2ban python3-systemd nftables unattended-upgrades)

hd_ssh_unit() {
  if systemctl cat ssh.service >/dev/null 2>&1; then echo ssh.service; else echo sshd.service; fi
}

# Effective sshd settings that must hold, as `sshd -T` prints them (lower case).
hd_sshd_effective_ok() {
  local t
  t="$(sshd -T 2>/dev/null)" || return 1
  grep -qx 'passwordauthentication no' <<<"$t" &&
    grep -qx 'kbdinteractiveauthentication no' <<<"$t" &&
    grep -qx 'permitrootlogin no' <<<"$t" &&
    grep -qx 'maxauthtries 4' <<<"$t" &&
    [[ "$(grep '^hostkey ' <<<"$t")" == "hostkey $HD_HOST_KEY" ]]
}

hd_sshd() {
  local backup=""
  mkdir -p /run/sshd
  if [[ -f "$HD_SSHD_DROPIN" ]]; then
    backup="$WS__TMP/sshd-dropin.bak"
    cp -p "$HD_SSHD_DROPIN" "$backup"
  fi
  ws_write_file "$HD_SSHD_DROPIN" 0644 "$HD_SSHD_TEXT"
  # A config sshd rejects, or one where our settings do not take effect, never reaches
  # the running sshd: put the old drop-in back (or none) and fail.
  if ! ws_run sshd -t || ! hd_sshd_effective_ok; then
    if [[ -n "$backup" ]]; then cp -p "$backup" "$HD_SSHD_DROPIN"; else rm -f "$HD_SSHD_DROPIN"; fi
    ws__set_cmd "sshd -t && sshd -T (with $HD_SSHD_DROPIN)"
    echo "sshd rejects the hardened configuration or overrides it; $HD_SSHD_DROPIN put back as it was"
    sshd -T 2>&1 | grep -E '^(passwordauthentication|kbdinteractiveauthentication|permitrootlogin|maxauthtries|hostkey) ' || true
    return 1
  fi
  ws_run systemctl try-reload-or-restart "$(hd_ssh_unit)"
  hd_delete_other_host_keys
  echo "sshd: $(sshd -T | grep -E '^(passwordauthentication|permitrootlogin|maxauthtries|hostkey) ' | paste -sd' ')"
}

# Host key files other than the pinned pair, one per line.
hd_other_host_keys() {
  find /etc/ssh -maxdepth 1 -name 'ssh_host_*' ! -name "${HD_HOST_KEY##*/}" ! -name "${HD_HOST_KEY##*/}.pub" | sort
}

hd_delete_other_host_keys() {
  local others
  others="$(hd_other_host_keys)"
  [[ -n "$others" ]] || return 0
  echo "deleting host keys sshd no longer serves: $(paste -sd' ' <<<"$others")"
  xargs -r rm -f -- <<<"$others"
}

hd_fail2ban_ok() {
  systemctl is-active --quiet fail2ban && fail2ban-client status sshd >/dev/null 2>&1
}

hd_fail2ban() {
  # system-prep deferred these to the install runs of desktop or the IDEs; without those
  # stages they are still missing here.
  if [[ -n "$(ws_pkgs_missing "${HD_PACKAGES[@]}")" ]]; then ws_apt_update_if_stale 3600; fi
  ws_apt_install "${HD_PACKAGES[@]}"
  ws_write_file "$HD_JAIL" 0644 "$HD_JAIL_TEXT"
  ws_run fail2ban-client -t
  # Its package enables it already; `systemctl enable` of a unit with an init script
  # also runs update-rc.d (most of a second), so only when it is not.
  systemctl is-enabled --quiet fail2ban 2>/dev/null || ws_run systemctl enable fail2ban
  # fail2ban runs since its install in system-prep: a reload loads the new jail without
  # stopping and starting the server.
  ws_run systemctl reload-or-restart fail2ban
  local i
  for ((i = 0; i < 60; i++)); do
    if hd_fail2ban_ok; then
      fail2ban-client status sshd
      return 0
    fi
    sleep 0.25
  done
  ws__set_cmd "fail2ban-client status sshd"
  fail2ban-client status sshd 2>&1 || true
  systemctl status fail2ban --no-pager 2>&1 | tail -n 15 || true
  return 1
}

# The uids allowed to reach the metadata service: root, and do-agent where it is installed.
hd_metadata_uids() {
  local uids="0" agent
  if agent="$(id -u do-agent 2>/dev/null)"; then uids="$uids, $agent"; fi
  printf '%s' "$uids"
}

hd_metadata_nft_text() {
  # The first two lines make the file replace the table on every load, with no error
  # whether or not it exists.
  printf '%s\n' "# workstation provisioning (provisioning/harden.sh)
table ip $HD_METADATA_TABLE
delete table ip $HD_METADATA_TABLE
table ip $HD_METADATA_TABLE {
	chain output {
		type filter hook output priority filter; policy accept;
		ip daddr $HD_METADATA_IP meta skuid != { $(hd_metadata_uids) } counter reject
	}
}"
}

hd_metadata_guard_ok() {
  ws_file_is "$HD_METADATA_NFT" "$(hd_metadata_nft_text)" &&
    ws_file_is "/etc/systemd/system/$HD_METADATA_UNIT" "$HD_METADATA_UNIT_TEXT" &&
    systemctl is-enabled --quiet "$HD_METADATA_UNIT" 2>/dev/null &&
    nft list table ip "$HD_METADATA_TABLE" >/dev/null 2>&1
}

hd_metadata_guard() {
  ws_apt_install nftables
  ws_write_file "$HD_METADATA_NFT" 0644 "$(hd_metadata_nft_text)"
  ws_run nft -c -f "$HD_METADATA_NFT"
  ws_write_file "/etc/systemd/system/$HD_METADATA_UNIT" 0644 "$HD_METADATA_UNIT_TEXT"
  ws_run systemctl daemon-reload
  ws_run systemctl enable "$HD_METADATA_UNIT"
  # restart, not start: a unit already active from an earlier run loads the new file.
  ws_run systemctl restart "$HD_METADATA_UNIT"
  echo "metadata service $HD_METADATA_IP: open to uids $(hd_metadata_uids) only"
  nft list table ip "$HD_METADATA_TABLE"
}

hd_auto_upgrades() {
  ws_apt_install unattended-upgrades
  ws_write_file "$HD_AUTO_UPGRADES" 0644 "$HD_AUTO_UPGRADES_TEXT"
  echo "unattended upgrades: $HD_AUTO_UPGRADES"
}

# True when PKG is not among the missing packages $1 (one a line).
hd_has() {
  ! grep -qxF -- "$2" <<<"$1"
}

harden_main() {
  # One dpkg-query for every check below (each parses the whole status database).
  local missing
  missing="$(ws_pkgs_missing "${HD_PACKAGES[@]}")"
  if ws_file_is "$HD_SSHD_DROPIN" "$HD_SSHD_TEXT" && [[ -z "$(hd_other_host_keys)" ]]; then
    ws_skip sshd "$HD_SSHD_DROPIN in place, $HD_HOST_KEY the only host key"
  else
    ws_step sshd hd_sshd
  fi

  if [[ -z "$missing" ]] && ws_file_is "$HD_JAIL" "$HD_JAIL_TEXT" &&
    systemctl is-enabled --quiet fail2ban 2>/dev/null && systemctl is-active --quiet fail2ban; then
    ws_skip fail2ban "sshd jail configured, fail2ban running"
  else
    ws_step fail2ban hd_fail2ban
  fi

  if hd_has "$missing" nftables && hd_metadata_guard_ok; then
    ws_skip metadata-guard "$HD_METADATA_IP closed to all but uids $(hd_metadata_uids)"
  else
    ws_step metadata-guard hd_metadata_guard
  fi

  if hd_has "$missing" unattended-upgrades && ws_file_is "$HD_AUTO_UPGRADES" "$HD_AUTO_UPGRADES_TEXT"; then
    ws_skip unattended-upgrades "$HD_AUTO_UPGRADES in place"
  else
    ws_step unattended-upgrades hd_auto_upgrades
  fi
}

ws_main harden_main
