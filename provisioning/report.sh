#!/usr/bin/env bash
# report: reads timing.csv and resources.csv, runs a short CPU and disk benchmark,
# compares it with the previous report, raises alerts, writes
# $WS_LOG_DIR/performance-report.json and prints it on the result line:
#   {"generatedAt":"ISO","resources":{"samples":N,"peakMemUsedMB":n|null,"minMemAvailMB":n|null,
#     "minDiskAvailMB":n|null,"maxCPUPercent":n|null},
#    "benchmark":{"cpuSeconds":n,"diskWriteMBps":n},
#    "alerts":[{"level":"warning|critical","kind":"memory|disk|cpu|stage","stage"?:"..","message":".."}],
#    "regression":{"previous":{"generatedAt":"..","cpuSeconds":n,"diskWriteMBps":n}|null,
#      "regressed":bool,"details":[".."]},
#    "stages":{"<stage>":{"seconds":n,"status":"..","estimate":n|null}},
#    "samples":[{"t":epoch,"memUsedMB":n,"memAvailMB":n,"cpuPercent":n}]}
# samples: the monitor's rows of this run (the last 360, an hour), for the timeline picture.
# Alerts: available memory under 500 MB (critical under 250), free disk under 5 GB
# (critical under 2 GB), CPU over 95 % (warning), a stage over 150 % (warning) or 200 %
# (critical) of its WS_STAGE_ESTIMATES entry, from the latest timing.csv row per stage.
# Resource samples count from the start of the earliest of those rows (the current run).
# Regression: the benchmark over 20 % slower than the previous report's.
# Skips (and prints the last report again) when no stage did any work since it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
[[ -n "${WS_LIB_LOADED:-}" ]] || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WS_STAGE="${WS_STAGE:-report}"

RP_CPU_MB="${WS_BENCH_CPU_MB:-256}"
RP_DISK_MB="${WS_BENCH_DISK_MB:-128}"

rp_report_file() { printf '%s/performance-report.json' "$WS_LOG_DIR"; }

# shellcheck disable=SC2016 # awk program
readonly RP_AWK_EPOCH='
function epoch(ts,   y, m, d) {
  y = substr(ts, 1, 4) + 0; m = substr(ts, 6, 2) + 0; d = substr(ts, 9, 2) + 0
  if (m <= 2) { y--; m += 12 }
  return (365 * y + int(y / 4) - int(y / 100) + int(y / 400) + int((153 * (m - 3) + 2) / 5) + d - 719469) * 86400 \
    + substr(ts, 12, 2) * 3600 + substr(ts, 15, 2) * 60 + substr(ts, 18, 2)
}'

# The newest Timestamp of a row where a stage did work (ok or failed): verify only
# checks and report is this stage, so neither counts.
rp_last_work_ts() {
  local f="$WS_LOG_DIR/timing.csv"
  [[ -f "$f" ]] || return 0
  awk -F, 'NR > 1 && $2 != "report" && $2 != "verify" && $4 != "skipped" && $1 > m { m = $1 } END { print m }' "$f"
}

# The latest timing.csv row per stage, judged against WS_STAGE_ESTIMATES. Prints
# "STAGE name seconds status estimate", "ALERT level stage message" and "SINCE epoch".
rp_stages() {
  local f="$WS_LOG_DIR/timing.csv"
  if [[ ! -f "$f" ]]; then
    echo "SINCE|0"
    return 0
  fi
  awk -F, -v estimates="${WS_STAGE_ESTIMATES:-}" "$RP_AWK_EPOCH"'
    BEGIN {
      n = split(estimates, pairs, /[ \t\n]+/)
      for (i = 1; i <= n; i++) if (split(pairs[i], kv, "=") == 2) est[kv[1]] = kv[2] + 0
    }
    NR > 1 && NF >= 4 && $2 != "report" {
      if (!($2 in dur)) order[++count] = $2
      ts[$2] = $1; dur[$2] = $3 + 0; st[$2] = $4
    }
    END {
      since = -1
      for (i = 1; i <= count; i++) {
        s = order[i]
        e = (s in est) ? est[s] : 0
        printf "STAGE|%s|%.3f|%s|%s\n", s, dur[s], st[s], (e > 0 ? e : "null")
        start = epoch(ts[s]) - dur[s]
        if (since < 0 || start < since) since = start
        if (e > 0) {
          pct = 100 * dur[s] / e
          if (pct > 200) level = "critical"; else if (pct > 150) level = "warning"; else level = ""
          if (level != "") printf "ALERT|%s|stage|%s|%s took %.1f s, %d%% of its %g s estimate\n", level, s, s, dur[s], pct, e
        }
      }
      printf "SINCE|%d\n", (since < 0 ? 0 : since)
    }' "$f"
}

# Resource figures from the samples since $1 (epoch). Prints "RES json" and ALERT lines.
rp_resources() {
  local since="$1" f="$WS_LOG_DIR/resources.csv"
  if [[ ! -f "$f" ]]; then
    printf 'RES|{"samples":0,"peakMemUsedMB":null,"minMemAvailMB":null,"minDiskAvailMB":null,"maxCPUPercent":null}\n'
    return 0
  fi
  awk -F, -v since="$since" "$RP_AWK_EPOCH"'
    NR > 1 && NF >= 7 && epoch($1) >= since - 10 {
      n++
      if (n == 1 || $2 + 0 > used) used = $2 + 0
      if (n == 1 || $3 + 0 < avail) avail = $3 + 0
      if (n == 1 || $5 + 0 < disk) disk = $5 + 0
      if (n == 1 || $4 + 0 > cpu) cpu = $4 + 0
    }
    END {
      if (n == 0) {
        printf "RES|{\"samples\":0,\"peakMemUsedMB\":null,\"minMemAvailMB\":null,\"minDiskAvailMB\":null,\"maxCPUPercent\":null}\n"
        exit
      }
      printf "RES|{\"samples\":%d,\"peakMemUsedMB\":%d,\"minMemAvailMB\":%d,\"minDiskAvailMB\":%d,\"maxCPUPercent\":%.1f}\n", n, used, avail, disk, cpu
      if (avail < 250) printf "ALERT|critical|memory||available memory fell to %d MB (under 250 MB)\n", avail
      else if (avail < 500) printf "ALERT|warning|memory||available memory fell to %d MB (under 500 MB)\n", avail
      if (disk < 2048) printf "ALERT|critical|disk||free disk fell to %d MB (under 2 GB)\n", disk
      else if (disk < 5120) printf "ALERT|warning|disk||free disk fell to %d MB (under 5 GB)\n", disk
      if (cpu > 95) printf "ALERT|warning|cpu||CPU reached %.1f %% (over 95 %%)\n", cpu
    }' "$f"
}

# The samples since $1 (epoch) as a JSON list, the last 360 of them.
rp_samples() {
  local since="$1" f="$WS_LOG_DIR/resources.csv"
  if [[ ! -f "$f" ]]; then
    printf '[]\n'
    return 0
  fi
  awk -F, -v since="$since" "$RP_AWK_EPOCH"'
    NR > 1 && NF >= 7 && epoch($1) >= since - 10 {
      row[++n] = sprintf("{\"t\":%d,\"memUsedMB\":%d,\"memAvailMB\":%d,\"cpuPercent\":%.1f}", epoch($1), $2, $3, $4)
    }
    END {
      printf "["
      for (i = (n > 360 ? n - 359 : 1); i <= n; i++) printf "%s%s", (i > (n > 360 ? n - 359 : 1) ? "," : ""), row[i]
      printf "]\n"
    }' "$f"
}

rp_read_logs() {
  local since
  rp_stages >"$WS__TMP/stages.tsv"
  since="$(awk -F'|' '$1 == "SINCE" { print $2 }' "$WS__TMP/stages.tsv")"
  rp_resources "${since:-0}" >"$WS__TMP/resources.tsv"
  rp_samples "${since:-0}" >"$WS__TMP/samples.json"
  cat "$WS__TMP/stages.tsv" "$WS__TMP/resources.tsv"
}

# sha256 of RP_CPU_MB MB of zeros; a RP_DISK_MB MB write with fsync.
rp_benchmark() {
  local t0 t1 cpu_us disk_us file="$WS_LOG_DIR/.benchmark.tmp"
  t0="$(ws__usec)"
  head -c "$((RP_CPU_MB * 1048576))" /dev/zero | sha256sum >/dev/null
  t1="$(ws__usec)"
  cpu_us=$((t1 - t0))
  t0="$(ws__usec)"
  ws_run dd if=/dev/zero of="$file" bs=1M count="$RP_DISK_MB" conv=fsync status=none
  t1="$(ws__usec)"
  rm -f "$file"
  disk_us=$((t1 - t0))
  ((disk_us > 0)) || disk_us=1
  printf '%s %s\n' "$(ws__secs "$cpu_us")" \
    "$(awk -v mb="$RP_DISK_MB" -v us="$disk_us" 'BEGIN { printf "%.1f", mb * 1000000 / us }')" >"$WS__TMP/bench"
  echo "benchmark: sha256 of ${RP_CPU_MB} MB in $(ws__secs "$cpu_us") s; ${RP_DISK_MB} MB written with fsync in $(ws__secs "$disk_us") s"
}

# A number field of the previous report's benchmark object.
rp_prev_field() {
  local name="$1" file="$2"
  sed -n "s/.*\"benchmark\":{[^}]*\"$name\":\([0-9.eE+-]*\).*/\1/;T;p;q" "$file"
}

rp_write() {
  local file cpu mbps prev_file alerts="" line stages=""
  local prev=null regressed=false details="" prev_cpu prev_mbps prev_at now
  file="$(rp_report_file)"
  read -r cpu mbps <"$WS__TMP/bench"
  now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

  # Lines: "ALERT|level|kind|stage|message" and "STAGE|name|seconds|status|estimate".
  local f1 f2 f3 f4 f5
  while IFS='|' read -r f1 f2 f3 f4 f5; do
    case "$f1" in
      ALERT)
        alerts+="${alerts:+,}{\"level\":\"$f2\",\"kind\":\"$f3\""
        [[ -z "$f4" ]] || alerts+=",\"stage\":$(ws_json_str "$f4")"
        alerts+=",\"message\":$(ws_json_str "$f5")}"
        ;;
      STAGE)
        stages+="${stages:+,}$(ws_json_str "$f2"):{\"seconds\":$f3,\"status\":$(ws_json_str "$f4"),\"estimate\":$f5}"
        ;;
    esac
  done < <(cat "$WS__TMP/stages.tsv" "$WS__TMP/resources.tsv")
  local resources
  resources="$(awk -F'|' '$1 == "RES" { print $2 }' "$WS__TMP/resources.tsv")"

  prev_file="$WS__TMP/previous.json"
  if [[ -f "$file" ]]; then
    cp "$file" "$prev_file"
    prev_cpu="$(rp_prev_field cpuSeconds "$prev_file")"
    prev_mbps="$(rp_prev_field diskWriteMBps "$prev_file")"
    prev_at="$(sed -n 's/.*"generatedAt":"\([^"]*\)".*/\1/;T;p;q' "$prev_file")"
    if [[ -n "$prev_cpu" && -n "$prev_mbps" ]]; then
      prev="{\"generatedAt\":$(ws_json_str "$prev_at"),\"cpuSeconds\":$prev_cpu,\"diskWriteMBps\":$prev_mbps}"
      details="$(awk -v c="$cpu" -v pc="$prev_cpu" -v m="$mbps" -v pm="$prev_mbps" 'BEGIN {
        if (pc > 0 && c > pc * 1.2) printf "cpu benchmark %.3f s vs %.3f s before (%+d%%)\n", c, pc, 100 * (c - pc) / pc
        if (m > 0 && pm > 0 && m * 1.2 < pm) printf "disk write %.1f MB/s vs %.1f MB/s before (%+d%% time)\n", m, pm, 100 * (pm - m) / m
      }')"
    fi
  fi
  local details_json=""
  while IFS= read -r line; do
    [[ -n "$line" ]] || continue
    regressed=true
    details_json+="${details_json:+,}$(ws_json_str "$line")"
  done <<<"$details"

  local json
  json="{\"generatedAt\":\"$now\",\"resources\":$resources,\"benchmark\":{\"cpuSeconds\":$cpu,\"diskWriteMBps\":$mbps},\"alerts\":[$alerts],\"regression\":{\"previous\":$prev,\"regressed\":$regressed,\"details\":[$details_json]},\"stages\":{$stages},\"samples\":$(cat "$WS__TMP/samples.json")}"
  if [[ -f "$file" ]]; then cp -p "$file" "$WS_LOG_DIR/performance-report.previous.json"; fi
  ws_write_file "$file" 0644 "$json"
  printf '%s\n' "$json" >"$WS__TMP/report.json"
  echo "report: $file"
}

report_main() {
  local file last
  file="$(rp_report_file)"
  last="$(rp_last_work_ts)"
  if [[ -s "$file" ]]; then
    local at
    at="$(sed -n 's/.*"generatedAt":"\([^"]*\)".*/\1/;T;p;q' "$file")"
    # A row in the report's own second was read by it: stages end before report starts.
    if [[ -n "$at" && ! "$at" < "$last" ]]; then
      ws_skip read-logs "no stage did any work since the report of $at"
      ws_skip benchmark "the report of $at stands"
      ws_skip write-report "$file is current"
      ws_result "$(head -n 1 "$file")"
      return 0
    fi
  fi
  ws_step read-logs rp_read_logs
  ws_step benchmark rp_benchmark
  ws_step write-report rp_write
  ws_result "$(cat "$WS__TMP/report.json")"
}

ws_main report_main
