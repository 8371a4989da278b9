#!/usr/bin/env bash
# dotfiles: clones the user's dotfiles repository into the home as the user (~/.dotfiles),
# then runs WS_DOTFILES_INSTALL_COMMAND, or else the first of install.sh, install,
# bootstrap.sh, bootstrap, script/bootstrap, setup.sh, setup, script/setup (as Codespaces
# does), or else links the repository's dotfiles (names starting with ".") into the home.
# Idempotent: a re-run fetches, and pulls and installs again only when the repository (or
# the setting) changed. A failing clone, fetch or install does not fail the stage: the
# result carries it, with the tail of its output, and the program turns it into an alert.
# Result: {"head":"SHA"|null,"method":"command|install.sh|...|links"|null,"changed":bool,
#          "failure":null|{"step":"..","exitCode":N,"tail":".."}}
# shellcheck source-path=SCRIPTDIR source=lib.sh
[[ -n "${WS_LIB_LOADED:-}" ]] || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WS_STAGE="${WS_STAGE:-dotfiles}"

readonly DF_SCRIPTS=(install.sh install bootstrap.sh bootstrap script/bootstrap setup.sh setup script/setup)
# Bound on the install script: a hung one must not hold the workstation.
DF_TIMEOUT="${WS_DOTFILES_TIMEOUT:-900}"
DF_HOME=""
DF_DIR=""
DF_STATE=""

df_init() {
  : "${WS_DOTFILES_URL:?WS_DOTFILES_URL must be set}"
  DF_HOME="${WS_DOTFILES_HOME:-$(getent passwd "$WS_USERNAME" | cut -d: -f6)}"
  [[ -n "$DF_HOME" && -d "$DF_HOME" ]] || ws_fail init "user $WS_USERNAME has no home directory"
  DF_DIR="$DF_HOME/.dotfiles"
  # What was installed last: the setting and the commit, then the install's exit code.
  DF_STATE="$WS_VAR_DIR/dotfiles.state"
  mkdir -p "$WS_VAR_DIR"
}

# Runs a command as the user, in a clean login-like environment, git never prompting.
# --timeout first: bounded by DF_TIMEOUT seconds.
df_as_user() {
  local -a run=()
  if [[ "$1" == --timeout ]]; then
    run=(timeout "$DF_TIMEOUT")
    shift
  fi
  [[ "$(id -un)" == "$WS_USERNAME" ]] || run+=(runuser -u "$WS_USERNAME" --)
  "${run[@]}" env -i HOME="$DF_HOME" USER="$WS_USERNAME" LOGNAME="$WS_USERNAME" SHELL=/bin/bash \
    PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 GIT_TERMINAL_PROMPT=0 \
    GIT_SSH_COMMAND="ssh -o BatchMode=yes" "$@"
}

df_git() { df_as_user git -C "$DF_DIR" "$@"; }

# df_failed STEP RC LOG: remember a failure for the result (the stage goes on).
df_failed() {
  local step="$1" rc="$2" log="$3"
  printf '{"step":%s,"exitCode":%d,"tail":%s}' "$(ws_json_str "$step")" "$rc" \
    "$(ws_json_str "$(tail -n 20 "$log" 2>/dev/null)")" >"$WS__TMP/df.failure"
  ws_warn "dotfiles: $step failed with exit code $rc (reported in alerts; the workstation goes on)"
}

df_clone() {
  local log="$WS__TMP/df.clone.log" rc=0
  local -a branch=()
  [[ -z "${WS_DOTFILES_BRANCH:-}" ]] || branch=(--branch "$WS_DOTFILES_BRANCH")
  if [[ -e "$DF_DIR" ]]; then
    echo "$DF_DIR exists but is no git repository: moving it to $DF_DIR.before-workstation"
    rm -rf "$DF_DIR.before-workstation"
    mv "$DF_DIR" "$DF_DIR.before-workstation"
  fi
  df_as_user git clone --quiet "${branch[@]}" -- "$WS_DOTFILES_URL" "$DF_DIR" >"$log" 2>&1 || rc=$?
  cat "$log"
  if ((rc != 0)); then
    df_failed "git clone $WS_DOTFILES_URL" "$rc" "$log"
    return 0
  fi
  echo "cloned $WS_DOTFILES_URL into $DF_DIR at $(df_git rev-parse --short HEAD)"
}

# Fetches; prints "same" or "changed" (the branch, the remote or the commit moved).
df_fetch() {
  local log="$WS__TMP/df.fetch.log" rc=0 want
  if [[ "$(df_git remote get-url origin 2>/dev/null)" != "$WS_DOTFILES_URL" ]]; then
    df_git remote set-url origin "$WS_DOTFILES_URL" >&2
  fi
  want="${WS_DOTFILES_BRANCH:-$(df_git rev-parse --abbrev-ref HEAD)}"
  df_git fetch --quiet origin "$want" >"$log" 2>&1 || rc=$?
  if ((rc != 0)); then
    cat "$log" >&2
    df_failed "git fetch origin $want" "$rc" "$log"
    echo failed
    return 0
  fi
  if [[ "$(df_git rev-parse --abbrev-ref HEAD)" != "$want" || "$(df_git rev-parse HEAD)" != "$(df_git rev-parse FETCH_HEAD)" ]]; then
    echo changed
  else
    echo same
  fi
}

df_pull() {
  local want log="$WS__TMP/df.pull.log" rc=0
  want="${WS_DOTFILES_BRANCH:-$(df_git rev-parse --abbrev-ref HEAD)}"
  {
    if [[ "$(df_git rev-parse --abbrev-ref HEAD)" != "$want" ]]; then
      df_git checkout --quiet -B "$want" FETCH_HEAD
    else
      df_git merge --quiet --ff-only FETCH_HEAD
    fi
  } >"$log" 2>&1 || rc=$?
  cat "$log"
  if ((rc != 0)); then
    df_failed "git pull ($want, fast-forward only)" "$rc" "$log"
    return 0
  fi
  echo "now at $(df_git rev-parse --short HEAD)"
}

# The install method: "command", the first install script found, or "links".
df_method() {
  local s
  if [[ -n "${WS_DOTFILES_INSTALL_COMMAND:-}" ]]; then
    echo command
    return 0
  fi
  for s in "${DF_SCRIPTS[@]}"; do
    if [[ -f "$DF_DIR/$s" ]]; then
      echo "$s"
      return 0
    fi
  done
  echo links
}

# Links every top-level name starting with "." (but .git) into the home; a file already
# there that is not our link is kept as NAME.before-dotfiles.
df_link() {
  local f name target
  for f in "$DF_DIR"/.[!.]* "$DF_DIR"/..?*; do
    [[ -e "$f" || -L "$f" ]] || continue
    name="$(basename "$f")"
    [[ "$name" != ".git" ]] || continue
    target="$DF_HOME/$name"
    if [[ -L "$target" && "$(readlink "$target")" == "$f" ]]; then
      echo "$target: linked already"
      continue
    fi
    if [[ -e "$target" || -L "$target" ]]; then
      echo "$target exists: keeping it as $target.before-dotfiles"
      rm -rf "$target.before-dotfiles"
      mv "$target" "$target.before-dotfiles"
    fi
    df_as_user ln -s "$f" "$target"
    echo "$target -> $f"
  done
}

df_install() {
  local method rc=0 log="$WS__TMP/df.install.log"
  method="$(df_method)"
  printf '%s' "$method" >"$WS__TMP/df.method"
  echo "install: $method"
  case "$method" in
    links) df_link >"$log" 2>&1 || rc=$? ;;
    command) (cd "$DF_DIR" && df_as_user --timeout bash -c "$WS_DOTFILES_INSTALL_COMMAND") >"$log" 2>&1 || rc=$? ;;
    *)
      if [[ -x "$DF_DIR/$method" ]]; then
        (cd "$DF_DIR" && df_as_user --timeout "./$method") >"$log" 2>&1 || rc=$?
      else
        (cd "$DF_DIR" && df_as_user --timeout bash "./$method") >"$log" 2>&1 || rc=$?
      fi
      ;;
  esac
  cat "$log"
  cp "$log" "$WS_VAR_DIR/dotfiles.last.log"
  ((rc == 0)) || df_failed "$method" "$rc" "$log"
  printf '%s\n%s\n%s\n' "$(df_state_key)" "$rc" "$method" >"$DF_STATE"
}

# The setting and the commit the install ran for.
df_state_key() {
  printf '%s|%s|%s|%s' "$WS_DOTFILES_URL" "${WS_DOTFILES_BRANCH:-}" "${WS_DOTFILES_INSTALL_COMMAND:-}" "$(df_git rev-parse HEAD)"
}

dotfiles_main() {
  df_init
  if command -v git >/dev/null 2>&1; then
    ws_skip git "git is installed"
  else
    ws_step git ws_apt_install_batched git
  fi
  if [[ -d "$DF_DIR/.git" ]]; then
    local fetched
    fetched="$(df_fetch)"
    case "$fetched" in
      same) ws_skip pull "$DF_DIR is at the remote's $(df_git rev-parse --short HEAD)" ;;
      changed) ws_step pull df_pull ;;
    esac
  else
    ws_step clone df_clone
  fi
  if [[ ! -e "$WS__TMP/df.failure" ]]; then
    if [[ -f "$DF_STATE" && "$(head -n 1 "$DF_STATE")" == "$(df_state_key)" ]]; then
      local rc method
      rc="$(sed -n 2p "$DF_STATE")"
      method="$(sed -n 3p "$DF_STATE")"
      printf '%s' "$method" >"$WS__TMP/df.method"
      # A failure stays reported until the repository or the setting changes.
      if [[ "$rc" != 0 ]]; then df_failed "$method" "$rc" "$WS_VAR_DIR/dotfiles.last.log" 2>/dev/null; fi
      ws_skip install "ran for $(df_git rev-parse --short HEAD) already ($method, exit code $rc)"
    else
      ws_step install df_install
    fi
  fi
  local head=null method=null failure=null changed=false
  if [[ -d "$DF_DIR/.git" ]]; then head="$(ws_json_str "$(df_git rev-parse HEAD 2>/dev/null)")"; fi
  [[ ! -s "$WS__TMP/df.method" ]] || method="$(ws_json_str "$(cat "$WS__TMP/df.method")")"
  [[ ! -s "$WS__TMP/df.failure" ]] || failure="$(cat "$WS__TMP/df.failure")"
  ((WS__DONE == 0)) || changed=true
  ws_result "{\"head\":$head,\"method\":$method,\"changed\":$changed,\"failure\":$failure}"
}

ws_main dotfiles_main
