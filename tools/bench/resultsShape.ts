// The results file (tools/bench/results.json): its shape, the metrics derived from the runs,
// and a check of the shape that tests/bench uses.
// (Not named results.ts: require("./results") would load results.json first.)

import { STAGE_NAMES } from "../../components/stages";
import { PackageSet } from "./packages";
import { percentile, round, summarize, Summary } from "./stats";
import type { ThresholdOutcome } from "./threshold";

export const SCHEMA = "workstation-bench/1";

/** The provisioning cases (key generation is not run on a host). */
export const HOST_CASES = ["optimized", "naive", "floor", "rerun", "from-image", "restart", "fleet", "fleet-single"] as const;
export type HostCase = (typeof HOST_CASES)[number];

/** Stage order of the report: the program's stages (components/stages.ts), then floor's single transaction. */
export const STAGE_ORDER = [...STAGE_NAMES, "install"] as const;

/** Stages whose packages naive installs too: their span is the like-for-like part of optimized. */
export const INSTALL_STAGES = ["system-prep", "desktop", "ide-vscode", "ide-cursor", "ide-antigravity", "harden"];

export interface CaseRun {
    /** 1-based repetition. */
    run: number;
    host: string;
    ok: boolean;
    error?: string;
    /** The case's total, seconds (see DEFINITIONS). */
    totalSeconds: number;
    /** Seconds per stage. */
    stages: Record<string, number>;
    /** For optimized and rerun: first start to last end of the install stages (system-prep to harden). */
    installSeconds?: number;
    /** Peak memory of the host while the case ran, MiB (see MEMORY_METHOD). */
    memoryPeakMB?: number;
    memoryPeakRssMB?: number;
    /** Untimed preparation (floor's download), seconds, for the record. */
    untimedSeconds?: number;
    /** The link the case ran over ("none" or the shaped link's text, see link.ts); absent for floor's dpkg, which uses no network. */
    link?: string;
    /** optimized and from-image: from the program's start (the droplet created: host root mounted and booted) to the last stage's end. */
    readySeconds?: number;
    /** floor: the download floor over each link: every .deb of the set, fetched in parallel. */
    downloads?: DownloadFloor[];
    /** restart: `--stop` (to the host gone) and `--start` (to ready), as the runner times them. */
    stopSeconds?: number;
    startSeconds?: number;
    /** restart: whether the start booted the baked image (from-image's) or the stack's own. */
    fromImage?: boolean;
}

/**
 * One repetition of the fleet case: N workstations deployed at once through the deploy
 * driver's runFleet (tools/deploy/driver.ts) on stacks backed by the runner
 * (runnerStacks.ts), after one workstation alone. Its members are cases.fleet, the lone
 * one cases["fleet-single"], with totalSeconds their time to ready.
 */
export interface FleetSummary {
    run: number;
    /** N: workstations in the fleet. */
    size: number;
    /** The driver's concurrency cap (tools/deploy/limits.ts) and the most ups the stacks saw at once. */
    concurrencyCap: number;
    peakInFlight: number;
    /** Fleet members whose deployment failed. */
    failures: number;
    /** Time to ready of the members that succeeded, nearest rank. */
    readySeconds?: { n: number; p50: number; p95: number; p99: number };
    /** Time to ready of the workstation deployed alone just before. */
    singleSeconds?: number;
    /** readySeconds.p50 / singleSeconds. */
    fleetOverSingle?: number;
    /** Seconds between the first and the last runner's launch (the launches are spaced until each host has its index). */
    launchSpreadSeconds: number;
    /** From the first up to the last member ready or failed. */
    wallClockSeconds: number;
    /** The config every member (and the single) got on top of the stack's file. */
    memberConfig: Record<string, unknown>;
    /** The driver's own report (reportFleet): succeeded/failed, stage percentiles across the members, failures. */
    driverReport: string[];
}

export interface DownloadFloor {
    link: string;
    seconds: number;
    files: number;
    bytes: number;
}

export interface MetricSummary extends Summary {
    unit: "s" | "ratio" | "ms" | "MiB" | "count";
    samples: number[];
}

export interface KeyResults {
    runs: number;
    note: string;
    budgetMs: number;
    coldMs: { ed25519: number; rsa4096: number };
}

export interface BenchResults {
    schema: typeof SCHEMA;
    startedAt: string;
    finishedAt: string;
    command: string;
    machine: { cpus: number; memoryGiB: number; kernel: string; node: string };
    options: { runs: number; cases: string[]; keyRuns: number; stack: string; links?: string[]; fleet?: number };
    percentileMethod: string;
    memoryMethod: string;
    definitions: Record<string, string>;
    packageSet?: PackageSet;
    /** Untimed warm-up of the shared apt cache, seconds. */
    warmupSeconds?: number;
    /** from-image: the untimed bake (role: image on a builder host), seconds, and the snapshot it made. */
    bake?: { seconds: number; snapshotId?: string; ok: boolean; error?: string };
    cases: Partial<Record<HostCase, CaseRun[]>>;
    /** The fleet case, one entry per repetition. */
    fleet?: FleetSummary[];
    metrics: Record<string, MetricSummary>;
    key?: KeyResults;
    thresholds: ThresholdOutcome[];
    ok: boolean;
}

/** Metric names the bench produces; thresholds may name any of them. */
export const METRICS: Record<string, MetricSummary["unit"]> = {
    "optimized.seconds": "s",
    "naive.seconds": "s",
    "floor.seconds": "s",
    "rerun.seconds": "s",
    "optimized.install.seconds": "s",
    "optimized/naive": "ratio",
    "optimized/floor": "ratio",
    "optimized.install/naive": "ratio",
    "shaped.optimized.seconds": "s",
    "shaped.naive.seconds": "s",
    "shaped.optimized/naive": "ratio",
    "download.seconds": "s",
    "download.unshaped.seconds": "s",
    "limit.seconds": "s",
    "optimized/limit": "ratio",
    "optimized.ready.seconds": "s",
    "from-image.seconds": "s",
    "from-image/fresh": "ratio",
    "restart.stop.seconds": "s",
    "restart.start.seconds": "s",
    "optimized.memory.mb": "MiB",
    "naive.memory.mb": "MiB",
    "floor.memory.mb": "MiB",
    "key.ed25519.ms": "ms",
    "key.rsa4096.ms": "ms",
    "fleet.ready.seconds": "s",
    "fleet.single.seconds": "s",
    "fleet/single": "ratio",
    "fleet.failures": "count",
};

function summary(unit: MetricSummary["unit"], samples: number[]): MetricSummary {
    const s = summarize(samples);
    const digits = unit === "ratio" ? 3 : unit === "ms" ? 3 : unit === "MiB" ? 1 : unit === "count" ? 0 : 2;
    return {
        unit,
        samples: samples.map((v) => round(v, digits)),
        n: s.n,
        p50: round(s.p50, digits),
        p95: round(s.p95, digits),
        min: round(s.min, digits),
        max: round(s.max, digits),
        avg: round(s.avg, digits),
    };
}

/** The link label of unshaped runs. */
export const UNSHAPED = "none";

/** max(dpkg floor, download floor): an ideal program hides one behind the other. */
export function limitSeconds(dpkgFloor: number, downloadFloor: number): number {
    return Math.max(dpkgFloor, downloadFloor);
}

/**
 * Per-run samples of every metric. Ratios pair the runs of one repetition (measured side
 * by side, over the same link), only where both runs succeeded. Today's names are the
 * unshaped figures (link none); `shaped.*`, `download.seconds`, `limit.seconds` and
 * `optimized/limit` come from the shaped link.
 */
export function metricSamples(cases: Partial<Record<HostCase, CaseRun[]>>, keys?: { ed25519: number[]; rsa4096: number[] }): Record<string, number[]> {
    const ok = (c: HostCase): CaseRun[] => (cases[c] ?? []).filter((r) => r.ok);
    const unshaped = (c: HostCase): CaseRun[] => ok(c).filter((r) => r.link === undefined || r.link === UNSHAPED);
    const shaped = (c: HostCase): CaseRun[] => ok(c).filter((r) => r.link !== undefined && r.link !== UNSHAPED);
    const out: Record<string, number[]> = {};
    const put = (name: string, values: number[]): void => {
        if (values.length > 0) out[name] = values;
    };
    const paired = (
        as: CaseRun[],
        bs: CaseRun[],
        pick: (r: CaseRun) => number | undefined,
        base: (r: CaseRun) => number | undefined = (r) => r.totalSeconds,
    ): number[] =>
        as.flatMap((ra) => {
            const rb = bs.find((r) => r.run === ra.run && (r.link === undefined || ra.link === undefined || r.link === ra.link));
            const va = pick(ra);
            const vb = rb === undefined ? undefined : base(rb);
            return va !== undefined && vb !== undefined && vb > 0 ? [va / vb] : [];
        });
    const total = (r: CaseRun): number => r.totalSeconds;
    for (const c of ["optimized", "naive", "floor"] as const) put(`${c}.seconds`, unshaped(c).map(total));
    put("rerun.seconds", ok("rerun").map(total));
    put(
        "optimized.install.seconds",
        unshaped("optimized").flatMap((r) => (r.installSeconds === undefined ? [] : [r.installSeconds])),
    );
    put("optimized/naive", paired(unshaped("optimized"), unshaped("naive"), total));
    put("optimized/floor", paired(unshaped("optimized"), ok("floor"), total));
    put(
        "optimized.install/naive",
        paired(unshaped("optimized"), unshaped("naive"), (r) => r.installSeconds),
    );
    for (const c of ["optimized", "naive", "floor"] as const) {
        put(
            `${c}.memory.mb`,
            (c === "floor" ? ok(c) : unshaped(c)).flatMap((r) => (r.memoryPeakMB === undefined ? [] : [r.memoryPeakMB])),
        );
    }

    put("shaped.optimized.seconds", shaped("optimized").map(total));
    put("shaped.naive.seconds", shaped("naive").map(total));
    put("shaped.optimized/naive", paired(shaped("optimized"), shaped("naive"), total));
    const download = (r: CaseRun, want: "shaped" | "unshaped"): number | undefined =>
        r.downloads?.find((d) => (want === "unshaped" ? d.link === UNSHAPED : d.link !== UNSHAPED))?.seconds;
    put(
        "download.seconds",
        ok("floor").flatMap((r) => download(r, "shaped") ?? []),
    );
    put(
        "download.unshaped.seconds",
        ok("floor").flatMap((r) => download(r, "unshaped") ?? []),
    );
    const limit = (r: CaseRun): number | undefined => {
        const d = download(r, "shaped");
        return d === undefined ? undefined : limitSeconds(r.totalSeconds, d);
    };
    put(
        "limit.seconds",
        ok("floor").flatMap((r) => limit(r) ?? []),
    );
    put("optimized/limit", paired(shaped("optimized"), ok("floor"), total, limit));

    // from-image against the fresh workstation of its run, over the same link, both from
    // the program's start (host boot included) to ready.
    const ready = (r: CaseRun): number | undefined => r.readySeconds;
    put(
        "from-image.seconds",
        ok("from-image").flatMap((r) => ready(r) ?? []),
    );
    put(
        "optimized.ready.seconds",
        ok("optimized")
            .filter((r) => ok("from-image").some((f) => f.run === r.run && f.link === r.link))
            .flatMap((r) => ready(r) ?? []),
    );
    put("from-image/fresh", paired(ok("from-image"), ok("optimized"), ready, ready));
    put(
        "restart.stop.seconds",
        ok("restart").flatMap((r) => r.stopSeconds ?? []),
    );
    put(
        "restart.start.seconds",
        ok("restart").flatMap((r) => r.startSeconds ?? []),
    );
    // The fleet: every member's time to ready; per repetition, its failures and its p50 over
    // the lone workstation's time (a failed member counts, but has no time).
    const fleetRuns = [...new Set((cases.fleet ?? []).map((r) => r.run))];
    put("fleet.ready.seconds", ok("fleet").map(total));
    put("fleet.single.seconds", ok("fleet-single").map(total));
    put(
        "fleet.failures",
        fleetRuns.map((run) => (cases.fleet ?? []).filter((r) => r.run === run && !r.ok).length),
    );
    put(
        "fleet/single",
        fleetRuns.flatMap((run) => {
            const members = ok("fleet").filter((r) => r.run === run);
            const single = ok("fleet-single").find((r) => r.run === run);
            return members.length > 0 && single !== undefined && single.totalSeconds > 0 ? [percentile(members.map(total), 50) / single.totalSeconds] : [];
        }),
    );
    if (keys) {
        put("key.ed25519.ms", keys.ed25519);
        put("key.rsa4096.ms", keys.rsa4096);
    }
    return out;
}

export function summarizeMetrics(samples: Record<string, number[]>): Record<string, MetricSummary> {
    const out: Record<string, MetricSummary> = {};
    for (const [name, values] of Object.entries(samples)) {
        const unit = METRICS[name];
        if (!unit) throw new Error(`metric ${name} is not in METRICS`);
        out[name] = summary(unit, values);
    }
    return out;
}

/** Wall clock of the named stages: first start to last end, seconds. */
export function span(stages: readonly { stage: string; startedAt: number; endedAt: number }[], names: readonly string[]): number | undefined {
    const sel = stages.filter((s) => names.includes(s.stage));
    if (sel.length === 0) return undefined;
    return (Math.max(...sel.map((s) => s.endedAt)) - Math.min(...sel.map((s) => s.startedAt))) / 1000;
}

/** Problems with a results document's shape; empty when it is well-formed. */
export function checkResultsShape(doc: unknown): string[] {
    const errs: string[] = [];
    const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
    const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
    if (!isObj(doc)) return ["results: not an object"];
    if (doc.schema !== SCHEMA) errs.push(`schema: expected ${SCHEMA}, got ${JSON.stringify(doc.schema)}`);
    for (const k of ["startedAt", "finishedAt"]) {
        if (typeof doc[k] !== "string" || Number.isNaN(Date.parse(doc[k] as string))) errs.push(`${k}: not an ISO date`);
    }
    for (const k of ["command", "percentileMethod", "memoryMethod"]) if (typeof doc[k] !== "string") errs.push(`${k}: not a string`);
    if (typeof doc.ok !== "boolean") errs.push("ok: not a boolean");
    const opts = doc.options;
    if (!isObj(opts) || !isNum(opts.runs) || !Array.isArray(opts.cases) || !isNum(opts.keyRuns)) errs.push("options: needs runs, cases, keyRuns");
    if (!isObj(doc.cases)) errs.push("cases: not an object");
    else {
        for (const [name, runs] of Object.entries(doc.cases)) {
            if (!(HOST_CASES as readonly string[]).includes(name)) errs.push(`cases.${name}: unknown case`);
            if (!Array.isArray(runs)) {
                errs.push(`cases.${name}: not a list`);
                continue;
            }
            runs.forEach((r: unknown, i) => {
                const at = `cases.${name}[${i}]`;
                if (!isObj(r)) {
                    errs.push(`${at}: not an object`);
                    return;
                }
                if (!isNum(r.run) || r.run < 1) errs.push(`${at}.run: not a positive number`);
                if (typeof r.ok !== "boolean") errs.push(`${at}.ok: not a boolean`);
                if (!isNum(r.totalSeconds) || r.totalSeconds < 0) errs.push(`${at}.totalSeconds: not a number >= 0`);
                if (!isObj(r.stages) || !Object.values(r.stages).every(isNum)) errs.push(`${at}.stages: not a map of stage to seconds`);
            });
        }
    }
    if (!isObj(doc.metrics)) errs.push("metrics: not an object");
    else {
        for (const [name, m] of Object.entries(doc.metrics)) {
            if (!(name in METRICS)) errs.push(`metrics.${name}: unknown metric`);
            if (!isObj(m) || !Array.isArray(m.samples) || !m.samples.every(isNum) || !isNum(m.p50) || !isNum(m.p95) || m.n !== m.samples.length) {
                errs.push(`metrics.${name}: needs samples, n = samples.length, p50, p95`);
            } else if (m.p50 > m.p95) errs.push(`metrics.${name}: p50 above p95`);
        }
    }
    if (!Array.isArray(doc.thresholds)) errs.push("thresholds: not a list");
    else {
        doc.thresholds.forEach((t: unknown, i) => {
            if (!isObj(t) || typeof t.metric !== "string" || typeof t.expression !== "string" || !["pass", "fail", "skipped"].includes(t.status as string)) {
                errs.push(`thresholds[${i}]: needs metric, expression, status pass|fail|skipped`);
            }
        });
    }
    if (doc.fleet !== undefined) {
        if (!Array.isArray(doc.fleet)) errs.push("fleet: not a list");
        else
            doc.fleet.forEach((f: unknown, i) => {
                const at = `fleet[${i}]`;
                if (!isObj(f)) {
                    errs.push(`${at}: not an object`);
                    return;
                }
                for (const k of ["run", "size", "concurrencyCap", "peakInFlight", "failures", "launchSpreadSeconds", "wallClockSeconds"])
                    if (!isNum(f[k]) || (f[k] as number) < 0) errs.push(`${at}.${k}: not a number >= 0`);
                if (isNum(f.peakInFlight) && isNum(f.concurrencyCap) && f.peakInFlight > f.concurrencyCap)
                    errs.push(`${at}.peakInFlight: ${f.peakInFlight} above the cap ${f.concurrencyCap}`);
                if (isNum(f.failures) && isNum(f.size) && f.failures > f.size) errs.push(`${at}.failures: ${f.failures} of ${f.size} members`);
                const r = f.readySeconds;
                if (
                    r !== undefined &&
                    (!isObj(r) ||
                        !["n", "p50", "p95", "p99"].every((k) => isNum(r[k])) ||
                        !((r.p50 as number) <= (r.p95 as number) && (r.p95 as number) <= (r.p99 as number)))
                )
                    errs.push(`${at}.readySeconds: needs n, p50 <= p95 <= p99`);
                if (!Array.isArray(f.driverReport) || !f.driverReport.every((l) => typeof l === "string")) errs.push(`${at}.driverReport: not a list of lines`);
                if (!isObj(f.memberConfig)) errs.push(`${at}.memberConfig: not an object`);
            });
    }
    if (doc.key !== undefined && (!isObj(doc.key) || typeof doc.key.note !== "string" || !isNum(doc.key.budgetMs))) errs.push("key: needs note and budgetMs");
    return errs;
}
