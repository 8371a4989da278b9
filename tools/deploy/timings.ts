// Reading the stack's `timings` output and reporting it: one table per deployment, and
// percentiles across a fleet. The output is produced by components/timing.ts (`summarize`);
// this file only reads plain data and is deliberately lenient about its shape, because a
// deployment that succeeded must never be reported as failed over a report format.
//
// Expected shape (the TimingSummary of components/timing.ts):
//   {
//     stages: { "<stage>": { seconds: number, status?: "ok"|"skipped", ... } | number, ... }
//             (a list of { stage|name, seconds } is accepted too),
//     wallClockSeconds?: number,            (also: wallClock)
//     sequentialSeconds?: number,
//     parallelSavingsSeconds?: number,
//     criticalPath?: { stages: string[], seconds: number } | string[] | "a → b → c",
//     criticalPathSeconds?: number          (when criticalPath is a bare list)
//   }
// Without a `stages` key, every top-level entry that is a number or has a numeric `seconds`
// (other than the summary fields above) is taken as a stage. A JSON string is parsed first.
// Anything unreadable yields an empty report and a note, never an exception.
import { percentile } from "../../components/timing";

export interface StageSeconds {
    stage: string;
    seconds: number;
    status?: string;
}

export interface TimingReport {
    stages: StageSeconds[];
    wallClockSeconds?: number;
    sequentialSeconds?: number;
    parallelSavingsSeconds?: number;
    criticalPath?: { stages: string[]; seconds?: number };
    /** What could not be read, for the person reading the table. */
    notes: string[];
}

const SUMMARY_KEYS = new Set([
    "stages",
    "wallClockSeconds",
    "wallClock",
    "sequentialSeconds",
    "parallelSavingsSeconds",
    "parallelSavingsPercent",
    "criticalPath",
    "criticalPathSeconds",
    "alerts",
    "regression",
    "baseline",
    "resources",
    "benchmark",
    "estimates",
]);

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function finite(value: unknown): number | undefined {
    if (typeof value === "number" && Number.isFinite(value)) return value;
    if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
    return undefined;
}

function secondsOf(value: unknown): { seconds?: number; status?: string } {
    const direct = finite(value);
    if (direct !== undefined) return { seconds: direct };
    if (isRecord(value)) {
        return {
            seconds: finite(value.seconds) ?? finite(value.durationSeconds),
            status: typeof value.status === "string" ? value.status : undefined,
        };
    }
    return {};
}

export function parseTimings(raw: unknown): TimingReport {
    const report: TimingReport = { stages: [], notes: [] };
    let value = raw;
    if (typeof value === "string") {
        try {
            value = JSON.parse(value);
        } catch {
            report.notes.push("the timings output is a string that is not JSON");
            return report;
        }
    }
    if (value === undefined || value === null) {
        report.notes.push("the stack has no timings output");
        return report;
    }
    if (!isRecord(value)) {
        report.notes.push(`the timings output is ${Array.isArray(value) ? "a list" : typeof value}, expected an object`);
        return report;
    }

    const addStage = (stage: string, entry: unknown): void => {
        const { seconds, status } = secondsOf(entry);
        if (seconds === undefined) {
            report.notes.push(`stage ${stage} has no numeric seconds`);
            return;
        }
        report.stages.push(status === undefined ? { stage, seconds } : { stage, seconds, status });
    };

    const stages = value.stages;
    if (Array.isArray(stages)) {
        stages.forEach((entry, i) => {
            const name = isRecord(entry) ? (entry.stage ?? entry.name) : undefined;
            if (typeof name !== "string") report.notes.push(`stages[${i}] has no stage name`);
            else addStage(name, entry);
        });
    } else if (isRecord(stages)) {
        for (const [name, entry] of Object.entries(stages)) addStage(name, entry);
    } else if (stages !== undefined) {
        report.notes.push(`timings.stages is ${typeof stages}, expected an object or a list`);
    } else {
        for (const [name, entry] of Object.entries(value)) {
            if (SUMMARY_KEYS.has(name)) continue;
            if (secondsOf(entry).seconds !== undefined) addStage(name, entry);
        }
    }
    if (report.stages.length === 0) report.notes.push("no stage timings found");

    report.wallClockSeconds = finite(value.wallClockSeconds) ?? secondsOf(value.wallClock).seconds;
    report.sequentialSeconds = finite(value.sequentialSeconds);
    report.parallelSavingsSeconds = finite(value.parallelSavingsSeconds);

    const cp = value.criticalPath;
    const cpSeconds = finite(value.criticalPathSeconds);
    if (Array.isArray(cp) && cp.every((s) => typeof s === "string")) {
        report.criticalPath = { stages: cp as string[], seconds: cpSeconds };
    } else if (typeof cp === "string") {
        report.criticalPath = { stages: cp.split(/\s*(?:→|->|,)\s*/).filter(Boolean), seconds: cpSeconds };
    } else if (isRecord(cp) && Array.isArray(cp.stages)) {
        report.criticalPath = {
            stages: cp.stages.filter((s): s is string => typeof s === "string"),
            seconds: finite(cp.seconds) ?? cpSeconds,
        };
    } else if (cp !== undefined) {
        report.notes.push("timings.criticalPath is not a list of stages");
    }
    return report;
}

function fmt(seconds: number | undefined): string {
    return seconds === undefined ? "-" : seconds.toFixed(1);
}

/** Left column left-aligned, the others right-aligned, separated by two spaces. */
export function renderTable(header: string[], rows: string[][]): string {
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
    const line = (cells: string[]): string =>
        cells
            .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
            .join("  ")
            .trimEnd();
    return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** The per-deployment table: stage → seconds, then wall clock and critical path. */
export function formatTimingTable(report: TimingReport): string {
    const rows = report.stages.map((s) => [s.stage, fmt(s.seconds), s.status ?? ""]);
    const lines = [renderTable(["stage", "seconds", "status"], rows)];
    lines.push("");
    lines.push(`wall clock:      ${fmt(report.wallClockSeconds)} s`);
    if (report.sequentialSeconds !== undefined) lines.push(`sequential sum:  ${fmt(report.sequentialSeconds)} s`);
    if (report.parallelSavingsSeconds !== undefined) lines.push(`parallel saving: ${fmt(report.parallelSavingsSeconds)} s`);
    const cp = report.criticalPath;
    lines.push(`critical path:   ${cp && cp.stages.length ? `${cp.stages.join(" → ")} (${fmt(cp.seconds)} s)` : "-"}`);
    for (const note of report.notes) lines.push(`note: ${note}`);
    return lines.join("\n");
}

/** Nearest-rank percentile (components/timing.ts), shared with the benchmark. */
export { percentile };

export interface StagePercentiles {
    stage: string;
    count: number;
    p50: number;
    p95: number;
    p99: number;
}

/** The pseudo-stage under which each deployment's wall clock is summarized. */
export const WALL_CLOCK_ROW = "(wall clock)";

/** p50/p95/p99 of every stage's seconds across deployments; stages in first-seen order, wall clock last. */
export function fleetPercentiles(reports: readonly TimingReport[]): StagePercentiles[] {
    const byStage = new Map<string, number[]>();
    const push = (stage: string, seconds: number): void => {
        const list = byStage.get(stage) ?? [];
        list.push(seconds);
        byStage.set(stage, list);
    };
    for (const r of reports) for (const s of r.stages) push(s.stage, s.seconds);
    const walls = reports.map((r) => r.wallClockSeconds).filter((s): s is number => s !== undefined);
    const rows = [...byStage.entries()].map(([stage, values]) => row(stage, values));
    if (walls.length) rows.push(row(WALL_CLOCK_ROW, walls));
    return rows;
}

function row(stage: string, values: number[]): StagePercentiles {
    return {
        stage,
        count: values.length,
        p50: percentile(values, 50),
        p95: percentile(values, 95),
        p99: percentile(values, 99),
    };
}

export function formatPercentileTable(rows: readonly StagePercentiles[]): string {
    return renderTable(
        ["stage", "n", "p50 s", "p95 s", "p99 s"],
        rows.map((r) => [r.stage, String(r.count), fmt(r.p50), fmt(r.p95), fmt(r.p99)]),
    );
}
