#!/usr/bin/env bash
# system-prep: apt tuning, base packages, a swap file, the workstation user (keys,
# passwordless sudo, the RDP password).
# WS_PASSWORD goes to chpasswd on stdin only: never argv, the environment or a log.
# shellcheck source-path=SCRIPTDIR source=lib.sh
[[ -n "${WS_LIB_LOADED:-}" ]] || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WS_STAGE="${WS_STAGE:-system-prep}"
# Keep the password out of every child's environment, also when a test exported it.
export -n WS_PASSWORD WS_AUTHORIZED_KEYS 2>/dev/null || true

# nftables is fail2ban's ban action (harden). e2fsprogs (mkfs.ext4) is home-volume's:
# installed here, an install stage, it is in the baked image, where home-volume runs before
# system-prep and the generalised image has no apt lists to install it from.
readonly SP_BASE_PACKAGES=(ca-certificates curl git gnupg eatmydata sudo unattended-upgrades fail2ban python3-systemd nftables iproute2 e2fsprogs)
# harden's packages (its HD_PACKAGES; python3 and its byte-compiling come with them) and
# git (perl comes with it), which only dotfiles uses: no stage that runs before them needs
# them, so they do not hold up every later stage here. They are deferred to the next
# shared install run (ws_apt_defer: desktop's or an IDE's, one dpkg run with theirs);
# harden and dotfiles install whatever is still missing.
readonly SP_DEFERRED_PACKAGES=(fail2ban python3-systemd nftables unattended-upgrades git)
readonly SP_APT_CONF=/etc/apt/apt.conf.d/90workstation
readonly SP_APT_CONF_TEXT='// workstation provisioning (provisioning/system-prep.sh)
DPkg::Lock::Timeout "600";
Acquire::Retries "3";
Acquire::Languages "none";
Dpkg::Use-Pty "0";
APT::Keep-Downloaded-Packages "false";'
readonly SP_SWAPFILE=/swapfile

sp_sudoers_file() {
  printf '/etc/sudoers.d/90-workstation-%s' "${WS_USERNAME//[^A-Za-z0-9_-]/_}"
}

sp_apt_tuned() {
  ws_file_is "$SP_APT_CONF" "$SP_APT_CONF_TEXT" && [[ ! -e /var/lib/man-db/auto-update ]]
}

# man-db's trigger costs 20 to 80 s per install run: off, through debconf (for a later
# install of man-db) and its flag file (for the installed one).
sp_apt_tune() {
  ws_write_file "$SP_APT_CONF" 0644 "$SP_APT_CONF_TEXT"
  printf 'man-db man-db/auto-update boolean false\n' | ws_run debconf-set-selections
  rm -f /var/lib/man-db/auto-update
}

sp_base_packages() {
  ws_apt_defer "${SP_DEFERRED_PACKAGES[@]}"
  local pkg needed=0
  while IFS= read -r pkg; do
    [[ " ${SP_DEFERRED_PACKAGES[*]} " == *" $pkg "* ]] || needed=1
  done < <(ws_pkgs_missing "${SP_BASE_PACKAGES[@]}")
  if ((needed == 0)); then
    echo "nothing else to install now"
    return 0
  fi
  ws_apt_update_if_stale 3600
  ws_apt_install "${SP_BASE_PACKAGES[@]}"
}

sp_swap_active() {
  [[ -n "$(tail -n +2 /proc/swaps)" ]]
}

# Size from memory: 2 GB below 2 GB of RAM, else as much as RAM, at most 4 GB.
sp_swap_size_mb() {
  local mem_kb mem_mb
  mem_kb="$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
  mem_mb=$((mem_kb / 1024))
  if ((mem_mb < 2048)); then echo 2048; elif ((mem_mb > 4096)); then echo 4096; else echo "$mem_mb"; fi
}

sp_swap() {
  local size avail
  size="$(sp_swap_size_mb)"
  avail="$(df -Pm / | awk 'NR == 2 { print $4 }')"
  if ((avail < size + 4096)); then
    ws_warn "only ${avail} MB free on /: no ${size} MB swap file"
    return 0
  fi
  rm -f "$SP_SWAPFILE"
  if ! fallocate -l "${size}M" "$SP_SWAPFILE" 2>/dev/null; then
    ws_run dd if=/dev/zero of="$SP_SWAPFILE" bs=1M count="$size" status=none
  fi
  chmod 600 "$SP_SWAPFILE"
  ws_run mkswap "$SP_SWAPFILE" >/dev/null
  if ! swapon "$SP_SWAPFILE" 2>"$WS__TMP/swapon.err"; then
    ws_warn "swapon not permitted here ($(cat "$WS__TMP/swapon.err")); a container? Going on without swap"
    rm -f "$SP_SWAPFILE"
    mkdir -p "$WS_VAR_DIR"
    : >"$WS_VAR_DIR/swap-unsupported"
    return 0
  fi
  if ! grep -qE "^${SP_SWAPFILE}[[:space:]]" /etc/fstab; then
    printf '%s none swap sw 0 0\n' "$SP_SWAPFILE" >>/etc/fstab
  fi
  echo "swap: ${size} MB at $SP_SWAPFILE"
}

sp_valid_username() {
  [[ "$WS_USERNAME" =~ ^[a-z_][a-z0-9_-]{0,31}$ && "$WS_USERNAME" != root ]]
}

sp_user() {
  ws_run useradd --create-home --shell /bin/bash "$WS_USERNAME"
}

sp_home() {
  getent passwd "$WS_USERNAME" | cut -d: -f6
}

# The keys the user should have: WS_AUTHORIZED_KEYS and, with WS_COPY_ROOT_KEYS=true,
# the plain keys DigitalOcean put in root's authorized_keys (existingSshKeyFingerprints):
# once harden forbids root login they would let nobody in.
sp_wanted_keys() {
  printf '%s\n' "${WS_AUTHORIZED_KEYS:-}"
  local root_keys="${WS_ROOT_AUTHORIZED_KEYS:-/root/.ssh/authorized_keys}"
  # Only plain key lines: a line with options (command="echo Please login as…") is a
  # cloud image's refusal, not a key meant for a person.
  if [[ "${WS_COPY_ROOT_KEYS:-false}" == true && -f "$root_keys" ]]; then
    grep -E '^(ssh-|ecdsa-|sk-)' "$root_keys" || true
  fi
}

# The wanted keys missing from the user's authorized_keys, one a line
# (compared by key blob, so a key cloud-init wrote with another comment counts).
sp_missing_keys() {
  local file line blob
  file="$(sp_home)/.ssh/authorized_keys"
  while IFS= read -r line; do
    line="${line%$'\r'}"
    [[ -n "${line// /}" && "$line" != \#* ]] || continue
    read -r _ blob _ <<<"$line"
    if [[ ! -f "$file" ]] || ! grep -qF -- "${blob:-$line}" "$file"; then
      printf '%s\n' "$line"
    fi
  done < <(sp_wanted_keys)
}

sp_authorized_keys() {
  local home missing group
  home="$(sp_home)"
  group="$(id -gn "$WS_USERNAME")"
  missing="$(sp_missing_keys)"
  install -d -m 0700 -o "$WS_USERNAME" -g "$group" "$home/.ssh"
  printf '%s\n' "$missing" >>"$home/.ssh/authorized_keys"
  chown "$WS_USERNAME:$group" "$home/.ssh/authorized_keys"
  chmod 0600 "$home/.ssh/authorized_keys"
  echo "added $(wc -l <<<"$missing") key(s)"
}

sp_sudoers_text() {
  printf '# workstation provisioning: passwordless sudo for the workstation user\n%s ALL=(ALL:ALL) NOPASSWD:ALL' "$WS_USERNAME"
}

sp_sudoers() {
  local file tmp
  file="$(sp_sudoers_file)"
  tmp="$(mktemp /etc/sudoers.d/.ws.XXXXXX)"
  printf '%s\n' "$(sp_sudoers_text)" >"$tmp"
  chmod 0440 "$tmp"
  if ! ws_run visudo -c -q -f "$tmp"; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$file"
}

# True when the user's password already is WS_PASSWORD. The password reaches perl on
# stdin (printf is a builtin: no argv).
sp_password_matches() {
  local hash
  hash="$(getent shadow "$WS_USERNAME" 2>/dev/null | cut -d: -f2)" || return 1
  [[ "$hash" == \$* ]] || return 1
  printf '%s\n%s\n' "$WS_PASSWORD" "$hash" |
    perl -e 'my $p = <STDIN>; my $h = <STDIN>; chomp($p, $h); exit(crypt($p, $h) eq $h ? 0 : 1)'
}

sp_set_password() {
  ws__set_cmd "chpasswd (password on stdin)"
  printf '%s:%s\n' "$WS_USERNAME" "$WS_PASSWORD" | chpasswd
  ws__set_cmd ""
  echo "password set for $WS_USERNAME"
}

sp_password() {
  if [[ -z "${WS_PASSWORD:-}" ]]; then
    ws_skip password "no WS_PASSWORD given"
  elif [[ "$WS_PASSWORD" == *$'\n'* ]]; then
    ws_fail password "WS_PASSWORD must not contain a newline"
  elif sp_password_matches; then
    ws_skip password "the password is already set"
  else
    ws_step password sp_set_password
  fi
}

# Started from an image (WS_IMAGE_BAKED_AT, epoch seconds, set by the program when the
# droplet's image is an image stack's snapshot): days since the bake.
sp_image_age_days() {
  echo "$((($(date +%s) - WS_IMAGE_BAKED_AT) / 86400))"
}

# Packages with a pending upgrade from a security suite (Debian's trixie-security,
# Ubuntu's noble-security), as apt-get's simulation lists them.
sp_security_upgradable() {
  apt-get -s -q "${WS_APT_OPTS[@]}" dist-upgrade 2>/dev/null | awk '/^Inst / && /-security[ ,\/]/ { print $2 }'
}

sp_security_updates() {
  ws_apt_get update
  local -a pkgs
  mapfile -t pkgs < <(sp_security_upgradable)
  if ((${#pkgs[@]} == 0)); then
    echo "no security update pending"
    return 0
  fi
  echo "security updates: ${pkgs[*]}"
  ws_apt_get install --only-upgrade --no-install-recommends "${pkgs[@]}"
}

sp_image_updates() {
  local age max="${WS_IMAGE_MAX_AGE_DAYS:-14}"
  if [[ -z "${WS_IMAGE_BAKED_AT:-}" ]]; then
    ws_skip security-updates "not started from a baked image"
    return 0
  fi
  [[ "$WS_IMAGE_BAKED_AT" =~ ^[0-9]+$ ]] || ws_fail security-updates "WS_IMAGE_BAKED_AT '$WS_IMAGE_BAKED_AT' is not epoch seconds"
  age="$(sp_image_age_days)"
  if ((age <= max)); then
    ws_skip security-updates "the image was baked $age days ago (at most $max)"
  else
    ws_log "the image was baked $age days ago (more than $max): applying pending security updates"
    ws_step security-updates sp_security_updates
  fi
}

system_prep_main() {
  sp_valid_username || ws_fail user "WS_USERNAME '$WS_USERNAME' is not a valid user name (lower case, digits, _ and -; not root)"

  if sp_apt_tuned; then ws_skip apt-tuning "apt options and man-db already set"; else ws_step apt-tuning sp_apt_tune; fi

  if ws_dpkg_interrupted; then ws_step dpkg-recover ws_dpkg_recover; else ws_skip dpkg-recover "no interrupted dpkg run"; fi

  local missing
  missing="$(ws_pkgs_missing "${SP_BASE_PACKAGES[@]}")"
  if [[ -z "$missing" ]]; then
    ws_skip base-packages "all installed"
  else
    ws_log "missing: ${missing//$'\n'/ }"
    ws_step base-packages sp_base_packages
  fi

  sp_image_updates

  if sp_swap_active; then
    ws_skip swap "swap is active"
  elif [[ -e "$WS_VAR_DIR/swap-unsupported" ]]; then
    ws_skip swap "swapon is not permitted on this host (found earlier)"
  else
    ws_step swap sp_swap
  fi

  if id -u "$WS_USERNAME" >/dev/null 2>&1; then
    ws_skip user "user $WS_USERNAME exists"
  else
    ws_step user sp_user
  fi

  if [[ -z "$(sp_missing_keys)" ]]; then
    ws_skip authorized-keys "all keys present"
  else
    ws_step authorized-keys sp_authorized_keys
  fi

  if ws_file_is "$(sp_sudoers_file)" "$(sp_sudoers_text)"; then
    ws_skip sudoers "$(sp_sudoers_file) in place"
  else
    ws_step sudoers sp_sudoers
  fi

  sp_password
}

ws_main system_prep_main
