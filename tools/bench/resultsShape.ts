// The results file (tools/bench/results.json): its shape, the metrics derived from the runs,
// and a check of the shape that tests/bench uses.
// (Not named results.ts: require("./results") would load results.json first.)

import { PackageSet } from "./packages";
import { round, summarize, Summary } from "./stats";
import type { ThresholdOutcome } from "./threshold";

export const SCHEMA = "workstation-bench/1";

/** The provisioning cases (key generation is not run on a host). */
export const HOST_CASES = ["optimized", "naive", "floor", "rerun"] as const;
export type HostCase = (typeof HOST_CASES)[number];

/** Stage order of the report: the program's stages, then floor's single transaction. */
export const STAGE_ORDER = [
    "wait-ready",
    "system-prep",
    "desktop",
    "ide-vscode",
    "ide-cursor",
    "ide-antigravity",
    "monitor",
    "verify",
    "harden",
    "report",
    "install",
] as const;

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
}

export interface MetricSummary extends Summary {
    unit: "s" | "ratio" | "ms" | "MiB";
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
    options: { runs: number; cases: string[]; keyRuns: number; stack: string };
    percentileMethod: string;
    memoryMethod: string;
    definitions: Record<string, string>;
    packageSet?: PackageSet;
    /** Untimed warm-up of the shared apt cache, seconds. */
    warmupSeconds?: number;
    cases: Partial<Record<HostCase, CaseRun[]>>;
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
    "optimized.memory.mb": "MiB",
    "naive.memory.mb": "MiB",
    "floor.memory.mb": "MiB",
    "key.ed25519.ms": "ms",
    "key.rsa4096.ms": "ms",
};

function summary(unit: MetricSummary["unit"], samples: number[]): MetricSummary {
    const s = summarize(samples);
    const digits = unit === "ratio" ? 3 : unit === "ms" ? 3 : unit === "MiB" ? 1 : 2;
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

/**
 * Per-run samples of every metric. Ratios pair the runs of one repetition (measured side
 * by side), only where both runs succeeded.
 */
export function metricSamples(cases: Partial<Record<HostCase, CaseRun[]>>, keys?: { ed25519: number[]; rsa4096: number[] }): Record<string, number[]> {
    const ok = (c: HostCase): CaseRun[] => (cases[c] ?? []).filter((r) => r.ok);
    const out: Record<string, number[]> = {};
    const put = (name: string, values: number[]): void => {
        if (values.length > 0) out[name] = values;
    };
    for (const c of HOST_CASES) put(`${c}.seconds`, ok(c).map((r) => r.totalSeconds));
    put("optimized.install.seconds", ok("optimized").flatMap((r) => (r.installSeconds === undefined ? [] : [r.installSeconds])));
    const paired = (a: HostCase, b: HostCase, pick: (r: CaseRun) => number | undefined): number[] =>
        ok(a).flatMap((ra) => {
            const rb = ok(b).find((r) => r.run === ra.run);
            const va = pick(ra);
            return rb && va !== undefined && rb.totalSeconds > 0 ? [va / rb.totalSeconds] : [];
        });
    put("optimized/naive", paired("optimized", "naive", (r) => r.totalSeconds));
    put("optimized/floor", paired("optimized", "floor", (r) => r.totalSeconds));
    put("optimized.install/naive", paired("optimized", "naive", (r) => r.installSeconds));
    for (const c of ["optimized", "naive", "floor"] as const) {
        put(`${c}.memory.mb`, ok(c).flatMap((r) => (r.memoryPeakMB === undefined ? [] : [r.memoryPeakMB])));
    }
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
    if (doc.key !== undefined && (!isObj(doc.key) || typeof doc.key.note !== "string" || !isNum(doc.key.budgetMs))) errs.push("key: needs note and budgetMs");
    return errs;
}
