#!/usr/bin/env bash
# verify: xrdp on 127.0.0.1:3389 and nothing else (WS_DESKTOP=true), each selected IDE
# (WS_IDES="vscode cursor antigravity": the package its stage chose, recorded in
# $WS_VAR_DIR/ide/IDE.choice, installed, and its command's version), the user's sudo.
# Prints the result JSON, then fails when a check failed:
#   {"ok":bool,"checks":[{"name":"xrdp"|"ide-<ide>"|"sudo","ok":bool,"detail":"..",
#     "package"?:"..","command"?:"..","version"?:".."}],"versions":{"<ide>":".."},
#    "ides":{"<ide>":{"package":"..","command":"..","version":".."}}}
# shellcheck source-path=SCRIPTDIR source=lib.sh
[[ -n "${WS_LIB_LOADED:-}" ]] || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WS_STAGE="${WS_STAGE:-verify}"

# vf_record NAME OK DETAIL [VERSION [PACKAGE COMMAND]]: one check's JSON object, appended
# to checks.jsonl.
vf_record() {
  local name="$1" ok="$2" detail="$3" version="${4-}" package="${5-}" command="${6-}" extra=""
  if [[ -n "$package" ]]; then extra+=",\"package\":$(ws_json_str "$package"),\"command\":$(ws_json_str "$command")"; fi
  if [[ -n "$version" ]]; then extra+=",\"version\":$(ws_json_str "$version")"; fi
  printf '{"name":%s,"ok":%s,"detail":%s%s}\n' "$(ws_json_str "$name")" "$ok" "$(ws_json_str "$detail")" "$extra" >>"$WS__TMP/checks.jsonl"
  if [[ "$ok" == true ]]; then echo "ok: $name ($detail)"; else echo "FAILED: $name ($detail)"; fi
}

vf_xrdp() {
  local listeners
  listeners="$(ws_xrdp_listeners)"
  if ws_xrdp_loopback_only "$listeners"; then
    vf_record xrdp true "listening on ${listeners//$'\n'/ }"
  else
    vf_record xrdp false "expected 127.0.0.1:3389 only; listening: ${listeners:-nothing}"
  fi
}

# The IDE's first line of `COMMAND --version`, run as the user (Electron IDEs warn or
# refuse when started as root), into FILE.
vf_version() {
  local bin="$1" home="$2" file="$3"
  if [[ -n "$home" ]]; then
    runuser -u "$WS_USERNAME" -- env HOME="$home" timeout 60 "$bin" --version 2>/dev/null | awk 'NR == 1' >"$file" || true
  else
    timeout 60 "$bin" --version 2>/dev/null | awk 'NR == 1' >"$file" || true
  fi
}

vf_ides() {
  local ide choice pkg bin path version home status
  local -A failed=()
  home="$(getent passwd "$WS_USERNAME" | cut -d: -f6)" || true
  # Package and command first, starting every `--version` at once (an Electron IDE takes
  # most of a second to print it); then each IDE recorded in WS_IDES order.
  for ide in ${WS_IDES:-}; do
    choice="$WS_VAR_DIR/ide/$ide.choice"
    if [[ ! -s "$choice" ]]; then
      failed[$ide]="no package chosen: $choice is missing (did ide-$ide run?)"
      continue
    fi
    IFS='=' read -r pkg bin <"$choice"
    status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null)" || status=""
    if [[ "$status" != "ii "* ]]; then
      failed[$ide]="package $pkg (chosen by ide-$ide) is not installed"
    elif ! path="$(command -v "$bin")"; then
      failed[$ide]="'$bin' (from $pkg) not found on PATH"
    else
      printf '%s\n' "$path" >"$WS__TMP/path.$ide"
      vf_version "$bin" "$home" "$WS__TMP/version.$ide" &
    fi
  done
  wait
  for ide in ${WS_IDES:-}; do
    if [[ ! -s "$WS_VAR_DIR/ide/$ide.choice" ]]; then
      vf_record "ide-$ide" false "${failed[$ide]}"
      continue
    fi
    IFS='=' read -r pkg bin <"$WS_VAR_DIR/ide/$ide.choice"
    if [[ -n "${failed[$ide]:-}" ]]; then
      vf_record "ide-$ide" false "${failed[$ide]}" "" "$pkg" "$bin"
      continue
    fi
    path="$(<"$WS__TMP/path.$ide")"
    version="$(<"$WS__TMP/version.$ide")"
    if [[ -n "$version" ]]; then
      vf_record "ide-$ide" true "$path" "$version" "$pkg" "$bin"
      printf '%s:{"package":%s,"command":%s,"version":%s}\n' "$(ws_json_str "$ide")" "$(ws_json_str "$pkg")" "$(ws_json_str "$bin")" "$(ws_json_str "$version")" >>"$WS__TMP/ides.jsonl"
    else
      vf_record "ide-$ide" false "$path --version printed nothing" "" "$pkg" "$bin"
    fi
  done
}

vf_sudo() {
  if sudo -n -u "$WS_USERNAME" sudo -n true 2>"$WS__TMP/sudo.err"; then
    vf_record sudo true "$WS_USERNAME can sudo without a password"
  else
    vf_record sudo false "sudo -n -u $WS_USERNAME sudo -n true failed: $(head -n 1 "$WS__TMP/sudo.err")"
  fi
}

verify_main() {
  : >"$WS__TMP/checks.jsonl"
  : >"$WS__TMP/ides.jsonl"
  if [[ "${WS_DESKTOP:-false}" == true ]]; then ws_step xrdp vf_xrdp; else ws_skip xrdp "no desktop selected"; fi
  if [[ -n "${WS_IDES:-}" ]]; then ws_step ides vf_ides; else ws_skip ides "no IDE selected"; fi
  ws_step sudo vf_sudo

  local checks ok=true versions="" ides line name version
  checks="$(paste -sd, "$WS__TMP/checks.jsonl")"
  ides="$(paste -sd, "$WS__TMP/ides.jsonl")"
  grep -q '"ok":false' "$WS__TMP/checks.jsonl" && ok=false
  while IFS= read -r line; do
    [[ "$line" =~ ^\{\"name\":\"ide-([^\"]+)\".*\"version\":(\".*\")\}$ ]] || continue
    name="${BASH_REMATCH[1]}"
    version="${BASH_REMATCH[2]}"
    versions+="${versions:+,}$(ws_json_str "$name"):$version"
  done <"$WS__TMP/checks.jsonl"
  ws_result "{\"ok\":$ok,\"checks\":[$checks],\"versions\":{$versions},\"ides\":{$ides}}"
  if [[ "$ok" != true ]]; then
    ws_fail checks "failed checks: $(grep '"ok":false' "$WS__TMP/checks.jsonl" | paste -sd' ')"
  fi
}

ws_main verify_main
