// The estimated schedule of the provisioning stages: each starts when the last stage it
// waits for ends (the engine runs independent stages at once), so the wall clock is the
// longest chain of estimates, the critical path.

export interface ScheduledStage {
    stage: string;
    after: string[];
    estimate: number;
    start: number;
    finish: number;
}

export interface Schedule {
    /** In an order where every stage follows the stages it waits for. */
    stages: ScheduledStage[];
    wallClock: number;
    sequential: number;
    criticalPath: string[];
}

/** `graph`: stage → stages it waits for; `estimates`: seconds per stage (0 when absent). */
export function schedule(graph: Record<string, string[]>, estimates: Record<string, number>): Schedule {
    const done = new Map<string, ScheduledStage>();
    const visiting = new Set<string>();
    const visit = (stage: string): ScheduledStage => {
        const known = done.get(stage);
        if (known) return known;
        if (visiting.has(stage)) throw new Error(`the stage graph has a cycle through ${stage}`);
        visiting.add(stage);
        const after = graph[stage] ?? [];
        const start = Math.max(0, ...after.map((d) => visit(d).finish));
        const estimate = estimates[stage] ?? 0;
        const s = { stage, after, estimate, start, finish: start + estimate };
        visiting.delete(stage);
        done.set(stage, s);
        return s;
    };
    Object.keys(graph).forEach(visit);
    const stages = [...done.values()].sort((a, b) => a.start - b.start || a.finish - b.finish);
    const wallClock = Math.max(0, ...stages.map((s) => s.finish));
    const sequential = stages.reduce((sum, s) => sum + s.estimate, 0);
    const criticalPath: string[] = [];
    let current = stages.find((s) => s.finish === wallClock);
    while (current) {
        criticalPath.unshift(current.stage);
        const prev: ScheduledStage | undefined = current.after.map((d) => done.get(d) as ScheduledStage).sort((a, b) => b.finish - a.finish)[0];
        current = prev;
    }
    return { stages, wallClock, sequential, criticalPath };
}

export function duration(seconds: number): string {
    const m = Math.floor(seconds / 60);
    const s = Math.round(seconds % 60);
    return m > 0 ? `${m}m${String(s).padStart(2, "0")}s` : `${s}s`;
}
