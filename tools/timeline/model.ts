// What the timeline picture draws, read from stack outputs (`pulumi stack output --json`,
// the local runner's record): the stages on the host's clock, the critical path, the
// dpkg lock waits, the monitor's samples and the totals. Plain data, checked here once,
// so that the drawing never has to guess.

/** One stage's lane. Times are host epoch seconds. */
export interface TimelineStage {
    name: string;
    start: number;
    end: number;
    seconds: number;
    status: "ok" | "skipped";
    /** Seconds its apt-get calls waited for another process's dpkg lock (0 when none was recorded). */
    lockWaitSeconds: number;
    /** On the critical path. */
    critical: boolean;
}

/** One monitor sample (report stage, `resourceSamples` output). */
export interface ResourceSample {
    t: number;
    memUsedMB: number;
    memAvailMB: number;
    cpuPercent: number;
}

export interface Timeline {
    title: string;
    /** In start order. */
    stages: TimelineStage[];
    samples: ResourceSample[];
    wallClockSeconds: number;
    sequentialSeconds: number;
    parallelSavingsSeconds: number;
    parallelSavingsPercent: number;
    criticalPath: string[];
    criticalPathSeconds: number;
}

/** Raised when the outputs lack what the picture needs; says what is missing. */
export class TimelineInputError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "TimelineInputError";
    }
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function finite(v: unknown): v is number {
    return typeof v === "number" && Number.isFinite(v);
}

/**
 * The timeline of a run from its stack outputs: `timings` (components/timing.ts
 * TimingSummary) is required, `resourceSamples` is optional.
 */
export function timelineFromOutputs(outputs: unknown, title: string): Timeline {
    if (!isObject(outputs)) throw new TimelineInputError("the stack outputs are not a JSON object");
    const timings = outputs.timings;
    if (!isObject(timings)) {
        throw new TimelineInputError(
            `the stack outputs have no "timings" object (keys: ${Object.keys(outputs).sort().join(", ") || "none"}); ` +
                "was the stack brought up with this program, and did its stages finish?",
        );
    }
    const stagesIn = timings.stages;
    if (!isObject(stagesIn) || Object.keys(stagesIn).length === 0) throw new TimelineInputError("timings.stages is missing or empty");
    const cp = isObject(timings.criticalPath) ? timings.criticalPath : {};
    const criticalPath = Array.isArray(cp.stages) ? cp.stages.filter((s): s is string => typeof s === "string") : [];
    const stages: TimelineStage[] = [];
    for (const [name, raw] of Object.entries(stagesIn)) {
        if (!isObject(raw) || !finite(raw.start) || !finite(raw.end) || !finite(raw.seconds) || raw.end < raw.start) {
            throw new TimelineInputError(`timings.stages.${name}: needs numeric start <= end and seconds (host epoch), got ${JSON.stringify(raw)}`);
        }
        const lockWait = raw.lockWaitSeconds;
        if (lockWait !== undefined && (!finite(lockWait) || lockWait < 0)) {
            throw new TimelineInputError(`timings.stages.${name}.lockWaitSeconds: ${JSON.stringify(lockWait)} is not a number of seconds`);
        }
        stages.push({
            name,
            start: raw.start,
            end: raw.end,
            seconds: raw.seconds,
            status: raw.status === "skipped" ? "skipped" : "ok",
            // A wait longer than the stage cannot be; clamp what the bar can show.
            lockWaitSeconds: Math.min(lockWait ?? 0, raw.end - raw.start),
            critical: criticalPath.includes(name),
        });
    }
    stages.sort((a, b) => a.start - b.start || a.end - b.end);
    const samples: ResourceSample[] = [];
    const rawSamples = outputs.resourceSamples;
    if (Array.isArray(rawSamples)) {
        for (const s of rawSamples) {
            if (isObject(s) && finite(s.t) && finite(s.memUsedMB) && finite(s.memAvailMB) && finite(s.cpuPercent)) {
                samples.push({ t: s.t, memUsedMB: s.memUsedMB, memAvailMB: s.memAvailMB, cpuPercent: s.cpuPercent });
            }
        }
        samples.sort((a, b) => a.t - b.t);
    }
    const num = (v: unknown): number => (finite(v) ? v : 0);
    return {
        title,
        stages,
        samples,
        criticalPath,
        criticalPathSeconds: num(cp.seconds),
        wallClockSeconds: num(timings.wallClockSeconds),
        sequentialSeconds: num(timings.sequentialSeconds),
        parallelSavingsSeconds: num(timings.parallelSavingsSeconds),
        parallelSavingsPercent: num(timings.parallelSavingsPercent),
    };
}
