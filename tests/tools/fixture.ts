// Stack outputs of a run as the program exports them: timings from the real timing
// model (components/timing.ts), lock waits, and the monitor's samples.
import { stageGraph } from "../../components/stages";
import { StageTiming, summarize } from "../../components/timing";

const T0 = 1_780_000_000;

function stage(name: string, start: number, end: number, lockWaitSeconds?: number): StageTiming {
    return { stage: name, start: T0 + start, end: T0 + end, seconds: end - start, status: "ok", steps: [], ...(lockWaitSeconds ? { lockWaitSeconds } : {}) };
}

export const STAGES: StageTiming[] = [
    stage("wait-ready", 0, 2.5),
    stage("system-prep", 2.5, 20),
    stage("desktop", 20, 80, 12.5),
    stage("ide-vscode", 20.2, 55, 30),
    stage("ide-cursor", 20.4, 95.5, 41),
    stage("monitor", 20.1, 22),
    stage("verify", 95.5, 97),
    stage("harden", 97, 99),
    { ...stage("report", 99, 100), status: "skipped" },
];

export function outputs(): Record<string, unknown> {
    return {
        ipv4Address: "10.213.9.2",
        timings: summarize(STAGES, stageGraph(["vscode", "cursor"], true)),
        resourceSamples: [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((s, i) => ({
            t: T0 + s,
            memUsedMB: 300 + i * 150,
            memAvailMB: 3700 - i * 150,
            cpuPercent: (i * 37) % 100,
        })),
        privateKey: "[secret]",
    };
}
