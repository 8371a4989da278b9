#!/usr/bin/env bash
# desktop: XFCE and xrdp, xrdp listening on 127.0.0.1:3389 only (reach it through
# `ssh -L 3389:localhost:3389`), an XFCE session for the workstation user.
# shellcheck source-path=SCRIPTDIR source=lib.sh
[[ -n "${WS_LIB_LOADED:-}" ]] || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WS_STAGE="${WS_STAGE:-desktop}"

# Without Recommends; xorgxrdp, xorg and dbus-x11 are only Recommends of xrdp/xfce4
# but needed for a session, xfce4-terminal for a usable desktop.
readonly DK_PACKAGES=(xfce4 xfce4-terminal xrdp xorgxrdp xorg dbus-x11)
readonly DK_XRDP_INI=/etc/xrdp/xrdp.ini
readonly DK_PORT_LINE='port=tcp://127.0.0.1:3389'
readonly DK_XSESSION_TEXT='#!/bin/sh
# workstation provisioning: the XFCE session xrdp starts (through /etc/X11/Xsession)
exec startxfce4'

# Batched: one dpkg run with what system-prep deferred and the IDE packages ready by then.
dk_packages() {
  ws_apt_update_if_stale 3600
  ws_apt_install_batched "${DK_PACKAGES[@]}"
}

# The `port=` line of xrdp.ini's [Globals] section (other sections have their own).
dk_globals_port() {
  awk '/^\[/ { g = ($0 ~ /^\[Globals\]/) } g && /^port=/ { print; exit }' "$DK_XRDP_INI"
}

dk_xrdp_config() {
  local tmp
  [[ -f "$DK_XRDP_INI" ]] || { ws__set_cmd "test -f $DK_XRDP_INI"; echo "$DK_XRDP_INI missing"; return 1; }
  tmp="$(mktemp "$DK_XRDP_INI.ws.XXXXXX")"
  awk -v line="$DK_PORT_LINE" '
    /^\[/ { g = ($0 ~ /^\[Globals\]/) }
    g && /^port=/ && !done { print line; done = 1; next }
    { print }
  ' "$DK_XRDP_INI" >"$tmp"
  chmod --reference="$DK_XRDP_INI" "$tmp"
  mv -f "$tmp" "$DK_XRDP_INI"
  echo "xrdp.ini: $(dk_globals_port)"
  : >"$WS__TMP/xrdp-restart"
}

dk_xsession_path() {
  printf '%s/.xsession' "$(getent passwd "$WS_USERNAME" | cut -d: -f6)"
}

dk_xsession() {
  local path
  path="$(dk_xsession_path)"
  ws_write_file "$path" 0644 "$DK_XSESSION_TEXT"
  chown "$WS_USERNAME:$(id -gn "$WS_USERNAME")" "$path"
}

dk_service_ok() {
  systemctl is-enabled --quiet xrdp 2>/dev/null && systemctl is-active --quiet xrdp && ws_xrdp_loopback_only
}

dk_service() {
  # Its package enables it already; `systemctl enable` of a unit with an init script
  # also runs update-rc.d (most of a second), so only when it is not.
  systemctl is-enabled --quiet xrdp 2>/dev/null || ws_run systemctl enable xrdp
  ws_run systemctl restart xrdp
  local i listeners=""
  for ((i = 0; i < 40; i++)); do
    listeners="$(ws_xrdp_listeners)"
    if ws_xrdp_loopback_only "$listeners"; then
      echo "xrdp listening on: ${listeners//$'\n'/ }"
      return 0
    fi
    sleep 0.25
  done
  ws__set_cmd "ss -Hltnp (expect xrdp on 127.0.0.1:3389 only)"
  echo "xrdp is not listening on 127.0.0.1:3389 only; listeners: ${listeners:-none}"
  systemctl status xrdp --no-pager 2>&1 | tail -n 15 || true
  return 1
}

desktop_main() {
  id -u "$WS_USERNAME" >/dev/null 2>&1 || ws_fail user "user $WS_USERNAME does not exist (system-prep creates it)"

  local missing
  missing="$(ws_pkgs_missing "${DK_PACKAGES[@]}")"
  if [[ -z "$missing" ]]; then
    ws_skip packages "${DK_PACKAGES[*]} installed"
  else
    ws_log "missing: ${missing//$'\n'/ }"
    ws_step packages dk_packages
  fi

  if [[ "$(dk_globals_port)" == "$DK_PORT_LINE" ]]; then
    ws_skip xrdp-config "xrdp.ini already has $DK_PORT_LINE"
  else
    ws_step xrdp-config dk_xrdp_config
  fi

  if ws_file_is "$(dk_xsession_path)" "$DK_XSESSION_TEXT"; then
    ws_skip xsession "$(dk_xsession_path) starts XFCE"
  else
    ws_step xsession dk_xsession
  fi

  if [[ ! -e "$WS__TMP/xrdp-restart" ]] && dk_service_ok; then
    ws_skip xrdp-service "xrdp enabled, running, on 127.0.0.1:3389 only"
  else
    ws_step xrdp-service dk_service
  fi
}

ws_main desktop_main
