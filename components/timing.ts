// The timing model: what the stages' own timing records mean together. Pure functions
// over plain data, so the stack outputs, the offline plan and the benchmark share them.
import { StageGraph, StageName, topologicalOrder } from "./stages";

export const TIMING_MARKER = "::workstation-timing::";
export const RESULT_MARKER = "::workstation-result::";

/** One step inside a stage, as the host measured it. */
export interface StepTiming {
    name: string;
    seconds: number;
    status: "ok" | "skipped";
}

/** A stage's timing record (provisioning/README.md, "Output protocol"). */
export interface StageTiming {
    stage: string;
    /** Host epoch seconds. */
    start: number;
    end: number;
    seconds: number;
    /** `skipped` when the stage found its work already done. */
    status: "ok" | "skipped";
    steps: StepTiming[];
    /** Seconds the stage's apt-get calls waited for another process's dpkg lock; absent when none. */
    lockWaitSeconds?: number;
}

/**
 * Reads the timing record from a stage's stdout: the last line that starts with the
 * marker. A stage whose output has none is an error naming the stage, because every
 * output that follows from it would silently be wrong.
 */
export function parseTimingRecord(stage: string, stdout: string): StageTiming {
    const line = lastMarkedLine(stdout, TIMING_MARKER);
    if (line === undefined) {
        throw new Error(
            `stage ${stage}: its output has no timing record (a line starting with ${TIMING_MARKER}); ` +
                `last output: ${JSON.stringify(stdout.trim().split("\n").slice(-3).join("\n"))}`,
        );
    }
    let record: unknown;
    try {
        record = JSON.parse(line);
    } catch (err) {
        throw new Error(`stage ${stage}: its timing record is not JSON (${(err as Error).message}): ${line}`, { cause: err });
    }
    const r = record as Partial<StageTiming>;
    const problems: string[] = [];
    if (r.stage !== stage) problems.push(`stage is ${JSON.stringify(r.stage)}, expected "${stage}"`);
    for (const field of ["start", "end", "seconds"] as const) {
        if (typeof r[field] !== "number" || !Number.isFinite(r[field])) problems.push(`${field} is not a number`);
    }
    if (r.status !== "ok" && r.status !== "skipped") problems.push(`status is ${JSON.stringify(r.status)}, expected "ok" or "skipped"`);
    if (!Array.isArray(r.steps)) problems.push("steps is not a list");
    if (r.lockWaitSeconds !== undefined && (typeof r.lockWaitSeconds !== "number" || !(r.lockWaitSeconds >= 0))) {
        problems.push("lockWaitSeconds is not a number of seconds");
    }
    if (problems.length) throw new Error(`stage ${stage}: malformed timing record (${problems.join("; ")}): ${line}`);
    return r as StageTiming;
}

/** The structured result a stage printed (verify, report), or undefined if it printed none. */
export function parseResult(stage: string, stdout: string): unknown {
    const line = lastMarkedLine(stdout, RESULT_MARKER);
    if (line === undefined) return undefined;
    try {
        return JSON.parse(line);
    } catch (err) {
        throw new Error(`stage ${stage}: its result line is not JSON (${(err as Error).message}): ${line}`, { cause: err });
    }
}

/** The text after `marker` on the last line of `stdout` that starts with it, or undefined. */
export function lastMarkedLine(stdout: string, marker: string): string | undefined {
    const lines = stdout.split(/\r?\n/);
    for (let i = lines.length - 1; i >= 0; i--) {
        const line = lines[i].trim();
        if (line.startsWith(marker)) return line.slice(marker.length).trim();
    }
    return undefined;
}

/** The longest chain of dependent stages, by the given seconds per stage. */
export interface CriticalPath {
    stages: StageName[];
    seconds: number;
}

export function criticalPath(graph: StageGraph, seconds: Partial<Record<StageName, number>>): CriticalPath {
    const best = new Map<StageName, CriticalPath>();
    for (const stage of topologicalOrder(graph)) {
        const own = seconds[stage] ?? 0;
        let longest: CriticalPath = { stages: [], seconds: 0 };
        for (const dep of graph[stage] ?? []) {
            const candidate = best.get(dep)!;
            if (candidate.seconds > longest.seconds) longest = candidate;
        }
        best.set(stage, { stages: [...longest.stages, stage], seconds: round(longest.seconds + own) });
    }
    // On a tie the later stage wins, so zero-second tail stages still end the path.
    let result: CriticalPath = { stages: [], seconds: 0 };
    for (const path of best.values()) if (path.seconds >= result.seconds) result = path;
    return result;
}

export interface TimingSummary {
    /** Seconds per stage, as each stage measured itself. */
    stages: Record<string, { seconds: number; status: "ok" | "skipped"; start: number; end: number; lockWaitSeconds?: number }>;
    /** From the first stage's start to the last stage's end. */
    wallClockSeconds: number;
    /** What the stages would take one after another. */
    sequentialSeconds: number;
    /** sequential − wall clock: what running stages side by side saved. */
    parallelSavingsSeconds: number;
    parallelSavingsPercent: number;
    criticalPath: CriticalPath;
}

export function summarize(timings: StageTiming[], graph: StageGraph): TimingSummary {
    const stages: TimingSummary["stages"] = {};
    const seconds: Partial<Record<StageName, number>> = {};
    for (const t of timings) {
        stages[t.stage] = { seconds: round(t.seconds), status: t.status, start: t.start, end: t.end };
        if (t.lockWaitSeconds !== undefined) stages[t.stage].lockWaitSeconds = round(t.lockWaitSeconds);
        seconds[t.stage as StageName] = t.seconds;
    }
    const wallClock = timings.length ? Math.max(...timings.map((t) => t.end)) - Math.min(...timings.map((t) => t.start)) : 0;
    const sequential = timings.reduce((sum, t) => sum + t.seconds, 0);
    const savings = Math.max(0, sequential - wallClock);
    return {
        stages,
        wallClockSeconds: round(wallClock),
        sequentialSeconds: round(sequential),
        parallelSavingsSeconds: round(savings),
        parallelSavingsPercent: sequential > 0 ? round((100 * savings) / sequential) : 0,
        criticalPath: criticalPath(graph, seconds),
    };
}

/** Over 150 % of the estimate warns, over 200 % is critical (the original design's levels). */
export const WARNING_RATIO = 1.5;
export const CRITICAL_RATIO = 2.0;

export interface TimingAlert {
    level: "warning" | "critical";
    kind: "stage";
    stage: string;
    seconds: number;
    estimate: number;
    message: string;
}

export function stageAlerts(timings: StageTiming[], estimates: Partial<Record<StageName, number>>): TimingAlert[] {
    const alerts: TimingAlert[] = [];
    for (const t of timings) {
        const estimate = estimates[t.stage as StageName];
        if (!estimate || estimate <= 0) continue;
        const ratio = t.seconds / estimate;
        const level = ratio > CRITICAL_RATIO ? "critical" : ratio > WARNING_RATIO ? "warning" : undefined;
        if (!level) continue;
        alerts.push({
            level,
            kind: "stage",
            stage: t.stage,
            seconds: round(t.seconds),
            estimate,
            message: `${t.stage} took ${round(t.seconds)} s, ${Math.round(ratio * 100)} % of its ${estimate} s estimate`,
        });
    }
    return alerts;
}

/** Over 20 % slower than the baseline is a regression. */
export const REGRESSION_THRESHOLD = 0.2;

export interface StageRegression {
    stage: string;
    seconds: number;
    baseline: number;
    changePercent: number;
    regressed: boolean;
}

export interface Regression {
    verdict: "regressed" | "ok" | "no-baseline";
    thresholdPercent: number;
    stages: StageRegression[];
    message: string;
}

export function regressionAgainst(timings: StageTiming[], baseline: Partial<Record<StageName, number>>): Regression {
    const stages: StageRegression[] = [];
    for (const t of timings) {
        const base = baseline[t.stage as StageName];
        if (base === undefined) continue;
        // A zero baseline cannot be exceeded by a percentage; treat any time as no regression.
        const change = base > 0 ? (t.seconds - base) / base : 0;
        stages.push({
            stage: t.stage,
            seconds: round(t.seconds),
            baseline: base,
            changePercent: round(change * 100),
            regressed: change > REGRESSION_THRESHOLD,
        });
    }
    const thresholdPercent = REGRESSION_THRESHOLD * 100;
    if (!stages.length) {
        return { verdict: "no-baseline", thresholdPercent, stages, message: "no baseline configured for the stages that ran" };
    }
    const regressed = stages.filter((s) => s.regressed);
    return {
        verdict: regressed.length ? "regressed" : "ok",
        thresholdPercent,
        stages,
        message: regressed.length
            ? `slower than baseline by more than ${thresholdPercent} %: ${regressed.map((s) => `${s.stage} (+${s.changePercent} %)`).join(", ")}`
            : `every stage within ${thresholdPercent} % of its baseline`,
    };
}

function round(n: number): number {
    return Math.round(n * 1000) / 1000;
}

/**
 * Nearest-rank percentile, shared by the fleet report and the benchmark: the smallest
 * sample such that at least p % of the samples are at or below it,
 * sorted[ceil(p/100 × n) − 1]. Always a measured value, never an interpolation: with 3
 * runs p50 is the median and p95 the slowest. p50 of [1, 2, 3, 4] is 2.
 */
export function percentile(samples: readonly number[], p: number): number {
    if (!Number.isFinite(p) || p <= 0 || p > 100) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
    if (samples.length === 0) throw new RangeError("percentile of no values");
    for (const s of samples) if (!Number.isFinite(s)) throw new RangeError(`samples must be finite numbers, got ${s}`);
    const sorted = [...samples].sort((a, b) => a - b);
    const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
    return sorted[rank - 1];
}
