#!/usr/bin/env bash
# generalise: turn a provisioned builder into an image every workstation can start from.
# Keeps what the install stages made (packages, IDE apt sources and keyrings, the private
# apt dirs under /var/lib/workstation/apt, the monitor's sampler and unit), so that on a
# workstation started from the image those stages find their work done and skip. Removes
# everything that belongs to one user or one host, so that the per-workstation stages and
# cloud-init do their work again:
#   - the builder's user, its home, keys, password and sudoers file
#   - root's authorized_keys and password
#   - the SSH host keys (cloud-init installs the workstation's pinned key on first boot)
#   - /etc/machine-id (emptied: systemd makes a new one on first boot) and dbus's copy
#   - cloud-init's state, seed and logs, so that it runs again as on a first boot
#   - the stages' per-host records: timing.csv, the report, resource samples, dotfiles
#     state, the swap-unsupported finding; the shell history; logs; apt caches and lists
# Usage (as root, on the builder): generalise.sh [--root DIR] [--poweroff] [--packages 'P...']
#   --root DIR   work on a stopped host's root file system at DIR instead of / (the local
#                target bakes a test host's root this way); no service is touched
#   --poweroff   power the host off 2 s after the script returns (the cloud builder)
#   --packages   packages whose installed versions the result reports (the image's contents)
# Prints `::workstation-generalised:: {"removed":[...],"packages":{...},"at":EPOCH}`.
set -euo pipefail
export LC_ALL=C

GN_ROOT=/
GN_POWEROFF=false
GN_PACKAGES=""
while (($# > 0)); do
  case "$1" in
    --root) GN_ROOT="${2:?--root needs a directory}"; shift ;;
    --poweroff) GN_POWEROFF=true ;;
    --packages) GN_PACKAGES="${2?--packages needs a list}"; shift ;;
    *) echo "generalise.sh: unknown argument '$1'; usage: generalise.sh [--root DIR] [--poweroff] [--packages 'P...']" >&2; exit 2 ;;
  esac
  shift
done
GN_ROOT="${GN_ROOT%/}"
[[ -d "$GN_ROOT/etc" ]] || { echo "generalise.sh: $GN_ROOT/etc is missing: not a root file system" >&2; exit 2; }

# Versions first: dpkg's database stays, but read it before anything else changes.
gn_versions="" sep=""
for pkg in $GN_PACKAGES; do
  [[ "$pkg" =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || { echo "generalise.sh: '$pkg' is no package name" >&2; exit 2; }
  version="$(dpkg-query --admindir="$GN_ROOT/var/lib/dpkg" -W -f '${db:Status-Status} ${Version}' "$pkg" 2>/dev/null || true)"
  [[ "$version" == installed\ * ]] && version="${version#installed }" || version=""
  gn_versions+="$sep\"$pkg\":\"$version\""
  sep=","
done

gn_removed=()
# gn_rm PATH...: remove paths under the root, recording those that existed.
gn_rm() {
  local p
  for p in "$@"; do
    if [[ -e "$GN_ROOT$p" || -L "$GN_ROOT$p" ]]; then
      [[ "$p" == /?* ]] || { echo "generalise.sh: refusing to remove '$p'" >&2; exit 1; }
      rm -rf -- "$GN_ROOT$p"
      gn_removed+=("$p")
    fi
  done
}

# Users with a login shell and a home under /home: the builder's user (and nobody else's,
# since an image has no users of its own).
gn_users() {
  awk -F: '$3 >= 1000 && $3 < 60000 && $6 ~ /^\/home\// { print $1 }' "$GN_ROOT/etc/passwd"
}

gn_remove_user() {
  local user="$1" home
  home="$(awk -F: -v u="$user" '$1 == u { print $6 }' "$GN_ROOT/etc/passwd")"
  if [[ "$GN_ROOT" == "" ]]; then
    # -f: the builder's own SSH session may still be open (this script runs in it).
    userdel -f -r "$user" 2>/dev/null || userdel -f "$user"
  else
    userdel -f -R "$GN_ROOT" -r "$user" 2>/dev/null || userdel -f -R "$GN_ROOT" "$user"
  fi
  [[ -n "$home" ]] && gn_rm "$home"
  gn_rm "/etc/sudoers.d/90-workstation-${user//[^A-Za-z0-9_-]/_}" "/var/spool/mail/$user" "/var/mail/$user"
  gn_removed+=("user:$user")
}

for user in $(gn_users); do gn_remove_user "$user"; done

# root: no key, no password.
gn_rm /root/.ssh/authorized_keys /root/.bash_history
if [[ "$GN_ROOT" == "" ]]; then usermod -p '*' root; else usermod -R "$GN_ROOT" -p '*' root; fi

# SSH host keys: each workstation gets its own (the pinned one, from cloud-init).
for key in "$GN_ROOT"/etc/ssh/ssh_host_*; do
  [[ -e "$key" ]] && gn_rm "${key#"$GN_ROOT"}"
done

# machine-id: empty, not absent, so that systemd treats the first boot as a first boot
# and writes a new one (machine-id(5)); dbus's copy follows it.
if [[ -s "$GN_ROOT/etc/machine-id" ]]; then gn_removed+=(/etc/machine-id); fi
: >"$GN_ROOT/etc/machine-id"
gn_rm /var/lib/dbus/machine-id /var/lib/systemd/random-seed /var/lib/systemd/credential.secret

# cloud-init: forget this instance so that it runs again, with the next droplet's user data.
gn_rm /var/lib/cloud/instance /var/lib/cloud/instances /var/lib/cloud/data /var/lib/cloud/sem \
  /var/lib/cloud/seed /var/log/cloud-init.log /var/log/cloud-init-output.log

# The stages' per-host records. Install markers stay: they are the packages and files
# themselves (desktop.sh, ide.sh, monitor.sh test what is installed, not a marker file).
gn_rm /var/log/workstation /var/lib/workstation/dotfiles.state /var/lib/workstation/dotfiles.last.log \
  /var/lib/workstation/swap-unsupported

# Logs, apt caches and lists: the next apt-get update fetches fresh lists anyway.
find "$GN_ROOT/var/log" -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -delete 2>/dev/null || true
find "$GN_ROOT/var/log" -type f -exec truncate -s 0 {} + 2>/dev/null || true
gn_rm /var/log/journal
mkdir -p "$GN_ROOT/var/log/journal"
find "$GN_ROOT/var/cache/apt" -name '*.bin' -delete 2>/dev/null || true
find "$GN_ROOT/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -delete 2>/dev/null || true
find "$GN_ROOT/var/lib/apt/lists" -maxdepth 1 -type f ! -name lock -delete 2>/dev/null || true
gn_rm /tmp/workstation /var/tmp/workstation

printf '::workstation-generalised:: {"removed":['
sep=""
for p in "${gn_removed[@]}"; do printf '%s"%s"' "$sep" "${p//\"/}"; sep=","; done
printf '],"packages":{%s},"at":%s}\n' "$gn_versions" "$(date +%s)"

sync
if [[ "$GN_POWEROFF" == true && "$GN_ROOT" == "" ]]; then
  # After this script returns, so that the command reports success before the host goes.
  systemd-run --quiet --on-active=2 --unit=workstation-generalise-poweroff systemctl poweroff
fi
