// Reading the stack's `timings` output and reporting it: one table per deployment, and
// percentiles across a fleet. The output is the TimingSummary of components/timing.ts
// (`summarize`), and only that shape is read: the stages by name with their seconds and
// status, the wall clock, the sequential sum, what parallelism saved and the critical
// path. The CLI may hand it over as a JSON string. What does not match is a note in the
// report, never an exception: a deployment that succeeded is never reported as failed
// over its report.
import { percentile } from "../../components/timing";
import type { TimingSummary } from "../../components/timing";

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

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function finite(value: unknown): number | undefined {
    return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** The stack's `timings` output (a TimingSummary, or its JSON) as a report. */
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
    const summary = value as Partial<Record<keyof TimingSummary, unknown>>;
    if (isRecord(summary.stages)) {
        for (const [stage, entry] of Object.entries(summary.stages)) {
            const seconds = isRecord(entry) ? finite(entry.seconds) : undefined;
            if (seconds === undefined) {
                report.notes.push(`stage ${stage} has no numeric seconds`);
                continue;
            }
            const status = isRecord(entry) && typeof entry.status === "string" ? entry.status : undefined;
            report.stages.push(status === undefined ? { stage, seconds } : { stage, seconds, status });
        }
    } else {
        report.notes.push(
            `timings.stages is ${summary.stages === undefined ? "missing" : Array.isArray(summary.stages) ? "a list" : typeof summary.stages}, expected an object of stages`,
        );
    }
    if (report.stages.length === 0) report.notes.push("no stage timings found");

    report.wallClockSeconds = finite(summary.wallClockSeconds);
    report.sequentialSeconds = finite(summary.sequentialSeconds);
    report.parallelSavingsSeconds = finite(summary.parallelSavingsSeconds);

    const cp = summary.criticalPath;
    if (isRecord(cp) && Array.isArray(cp.stages) && cp.stages.every((s) => typeof s === "string")) {
        report.criticalPath = { stages: cp.stages as string[], seconds: finite(cp.seconds) };
    } else if (cp !== undefined) {
        report.notes.push("timings.criticalPath is not { stages, seconds }");
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
