// The Markdown report printed on stdout (and pasted into the README's performance section).

import { BenchResults, CaseRun, HOST_CASES, HostCase, MetricSummary, STAGE_ORDER } from "./resultsShape";
import { percentile } from "./stats";

/** A Markdown table; columns are right-aligned (numbers) except the first, unless `align` says otherwise. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], align: readonly ("l" | "r")[] = []): string {
    const esc = (c: string): string => c.replace(/\|/g, "\\|");
    const sep = header.map((_, i) => ((align[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---"));
    return [header.map(esc), sep, ...rows.map((r) => r.map(esc))].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

/** "p50 / p95" of the samples with `digits` decimals, or "–" when there are none. */
export function p50p95(samples: readonly number[], digits: number): string {
    if (samples.length === 0) return "–";
    return `${percentile(samples, 50).toFixed(digits)} / ${percentile(samples, 95).toFixed(digits)}`;
}

const FLEET_CASES: readonly HostCase[] = ["fleet", "fleet-single"];

function okRuns(results: BenchResults, c: HostCase): CaseRun[] {
    return (results.cases[c] ?? []).filter((r) => r.ok);
}

function caseLabel(c: HostCase): string {
    return c === "rerun" ? "re-run" : c;
}

/** The report's columns: each case, split by link where a case ran over more than one. */
export function caseColumns(results: BenchResults): { label: string; runs: CaseRun[] }[] {
    const out: { label: string; runs: CaseRun[] }[] = [];
    for (const c of HOST_CASES) {
        const runs = okRuns(results, c);
        if ((results.cases[c] ?? []).length === 0) continue;
        // From every run, failed ones too: a column keeps its link's name when that link's run failed.
        const links = [...new Set((results.cases[c] ?? []).map((r) => r.link ?? ""))];
        if (links.length <= 1) out.push({ label: caseLabel(c), runs });
        else for (const l of links) out.push({ label: `${caseLabel(c)} (${l === "none" ? "unshaped" : l})`, runs: runs.filter((r) => (r.link ?? "") === l) });
    }
    return out;
}

/** Paired per-run ratios optimized/naive of one stage (or of the totals), over the unshaped link. */
function stageRatios(results: BenchResults, stage?: string): number[] {
    const unshaped = (c: HostCase): CaseRun[] => okRuns(results, c).filter((r) => r.link === undefined || r.link === "none");
    return unshaped("optimized").flatMap((ra) => {
        const rb = unshaped("naive").find((r) => r.run === ra.run);
        const va = stage === undefined ? ra.totalSeconds : ra.stages[stage];
        const vb = rb === undefined ? undefined : stage === undefined ? rb.totalSeconds : rb.stages[stage];
        return va !== undefined && vb !== undefined && vb > 0 ? [va / vb] : [];
    });
}

export function stageTable(results: BenchResults): string {
    const cols = caseColumns(results);
    const withNaive = (results.cases.optimized ?? []).length > 0 && (results.cases.naive ?? []).length > 0;
    const seen = new Set<string>();
    for (const col of cols) for (const r of col.runs) Object.keys(r.stages).forEach((s) => seen.add(s));
    const stages = [...STAGE_ORDER.filter((s) => seen.has(s)), ...[...seen].filter((s) => !(STAGE_ORDER as readonly string[]).includes(s)).sort()];
    const rows = stages.map((stage) => [
        stage === "install" ? "install (floor: one transaction)" : stage,
        ...cols.map((col) =>
            p50p95(
                col.runs.flatMap((r) => (r.stages[stage] === undefined ? [] : [r.stages[stage]])),
                1,
            ),
        ),
        ...(withNaive ? [p50p95(stageRatios(results, stage), 2)] : []),
    ]);
    rows.push([
        "**total**",
        ...cols.map(
            (col) =>
                `**${p50p95(
                    col.runs.map((r) => r.totalSeconds),
                    1,
                )}**`,
        ),
        ...(withNaive ? [`**${p50p95(stageRatios(results), 2)}**`] : []),
    ]);
    return markdownTable(["stage", ...cols.map((c) => c.label), ...(withNaive ? ["optimized/naive (unshaped)"] : [])], rows);
}

/** The fleet case: per repetition, failures, the cap and what ran at once, time to ready, the ratio; then the driver's own report. */
export function fleetSection(results: BenchResults): string {
    const fleet = results.fleet ?? [];
    const n = (v: number | undefined, digits: number): string => (v === undefined ? "–" : v.toFixed(digits));
    const lines = [
        `### Fleet: ${fleet[0].size} workstations at once through the deploy driver, time to ready in seconds`,
        "",
        markdownTable(
            ["run", "members", "failures", "at once (cap)", "p50", "p95", "p99", "alone", "fleet p50 / alone", "launch spread", "fleet wall clock"],
            fleet.map((f) => [
                String(f.run),
                String(f.size),
                f.failures === 0 ? "0" : `**${f.failures}**`,
                `${f.peakInFlight} (${f.concurrencyCap})`,
                n(f.readySeconds?.p50, 1),
                n(f.readySeconds?.p95, 1),
                n(f.readySeconds?.p99, 1),
                n(f.singleSeconds, 1),
                n(f.fleetOverSingle, 2),
                n(f.launchSpreadSeconds, 1),
                n(f.wallClockSeconds, 1),
            ]),
        ),
        "",
        `Time to ready: from the driver's up on a member's stack to the end of its last stage (runner start, host boot, every stage). Members' config over the stack file: ${JSON.stringify(fleet[0].memberConfig)}. Percentiles by nearest rank: with ${fleet[0].size} members p95 and p99 are the slowest member.`,
    ];
    for (const f of fleet) lines.push("", `The driver's report (run ${f.run}):`, "", "```", ...f.driverReport.filter((l, i) => i > 0 || l !== ""), "```");
    return lines.join("\n");
}

function metricRow(name: string, m: MetricSummary | undefined, digits: number, label = name): string[] {
    if (!m) return [label, "–", "–", "0"];
    return [label, m.p50.toFixed(digits), m.p95.toFixed(digits), String(m.n)];
}

export function renderReport(results: BenchResults): string {
    const out: string[] = [];
    const runs = results.options.runs;
    const failed = HOST_CASES.flatMap((c) =>
        (results.cases[c] ?? [])
            .filter((r) => !r.ok)
            .map((r) => `${caseLabel(c)} run ${r.run} on ${r.host}${r.link ? ` [${r.link}]` : ""}: ${r.error ?? "failed"}`),
    );
    if (HOST_CASES.some((c) => (results.cases[c] ?? []).length > 0)) {
        out.push(`### Provisioning, seconds (p50 / p95 over ${runs} run${runs === 1 ? "" : "s"})`, "", stageTable(results), "");
        out.push(
            "Stages of optimized that run in parallel (desktop, the IDEs, monitor) overlap, and their seconds include waiting for the dpkg lock: compare the totals, not those rows.",
            "",
        );
        if (results.fleet?.length) out.push("The fleet's and fleet-single's total is each workstation's time to ready (see the fleet section).", "");
    }
    // The one-workstation cases' ratios, floors and memory; a fleet-only run has none of them.
    if (HOST_CASES.some((c) => !FLEET_CASES.includes(c) && (results.cases[c] ?? []).length > 0)) {
        out.push("Ratios of totals, paired per run (lower is better):", "");
        out.push(
            markdownTable(
                ["ratio", "p50", "p95", "runs"],
                [
                    metricRow("optimized/naive", results.metrics["optimized/naive"], 2),
                    metricRow("optimized/floor", results.metrics["optimized/floor"], 2),
                    metricRow("optimized.install/naive", results.metrics["optimized.install/naive"], 2, "optimized/naive, install stages only"),
                    metricRow("shaped.optimized/naive", results.metrics["shaped.optimized/naive"], 2, "optimized/naive, shaped link"),
                    metricRow("optimized/limit", results.metrics["optimized/limit"], 2, "optimized/limit, shaped link"),
                    metricRow("from-image/fresh", results.metrics["from-image/fresh"], 2),
                ],
            ),
            "",
        );
        out.push("Floors, limit and lifecycle, seconds:", "");
        out.push(
            markdownTable(
                ["figure", "p50", "p95", "runs"],
                [
                    metricRow("floor.seconds", results.metrics["floor.seconds"], 1, "dpkg floor (floor)"),
                    metricRow("download.seconds", results.metrics["download.seconds"], 1, "download floor, shaped link"),
                    metricRow("download.unshaped.seconds", results.metrics["download.unshaped.seconds"], 1, "download floor, unshaped"),
                    metricRow("limit.seconds", results.metrics["limit.seconds"], 1, "limit = max(dpkg, download shaped)"),
                    metricRow("optimized.ready.seconds", results.metrics["optimized.ready.seconds"], 1, "fresh: program start to ready (boot included)"),
                    metricRow("from-image.seconds", results.metrics["from-image.seconds"], 1, "from-image: program start to ready (boot included)"),
                    metricRow("restart.stop.seconds", results.metrics["restart.stop.seconds"], 1, "restart: stop"),
                    metricRow("restart.start.seconds", results.metrics["restart.start.seconds"], 1, "restart: start to ready"),
                ],
            ),
            "",
        );
        if (results.bake)
            out.push(
                `The image from-image boots was baked once before the runs (untimed): ${results.bake.ok ? `${results.bake.seconds.toFixed(0)} s, snapshot ${results.bake.snapshotId}` : `FAILED: ${results.bake.error}`}.`,
                "",
            );
        const mem = (["optimized", "naive", "floor"] as const).map((c) => metricRow(c, results.metrics[`${c}.memory.mb`], 0));
        out.push(
            "Peak host memory, MiB (sum of Pss in the host's PID namespace, sampled every second):",
            "",
            markdownTable(["case", "p50", "p95", "runs"], mem),
            "",
        );
    }
    if (results.fleet?.length) out.push(fleetSection(results), "");
    if (results.key) {
        const k = results.key;
        out.push(`### Key generation, ms (${k.runs} runs each, node crypto.generateKeyPair)`, "");
        out.push(
            markdownTable(
                ["algorithm", "p50", "p95", "runs", "first in process"],
                [
                    [...metricRow("ED25519", results.metrics["key.ed25519.ms"], 2), k.coldMs.ed25519.toFixed(2)],
                    [...metricRow("RSA-4096", results.metrics["key.rsa4096.ms"], 0), k.coldMs.rsa4096.toFixed(0)],
                ],
            ),
            "",
            `${k.note}`,
            "",
        );
    }
    if (results.thresholds.length > 0) {
        out.push("### Thresholds (tools/bench/thresholds.json)", "");
        out.push(
            markdownTable(
                ["metric", "threshold", "value", "result"],
                results.thresholds.map((t) => [
                    t.metric,
                    t.expression,
                    t.value === undefined ? "–" : String(Number(t.value.toFixed(3))),
                    t.status === "fail" ? "**FAIL**" : t.status,
                ]),
                ["l", "l", "r", "l"],
            ),
            "",
        );
    }
    if (failed.length > 0) out.push("Failed runs (left out of the figures):", "", ...failed.map((f) => `- ${f}`), "");
    out.push(`Percentiles: ${results.percentileMethod}.`);
    return out.join("\n") + "\n";
}
