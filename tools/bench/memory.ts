// Peak memory of one test host, measured from outside: every second, the sum of the
// proportional set size (Pss, /proc/PID/smaps_rollup) of every process in the host's PID
// namespace. /proc/meminfo inside systemd-nspawn shows the outer machine, and the host has
// no memory cgroup of its own here (nspawn runs with --keep-unit under the caller's
// cgroup), so neither can be used. Pss splits shared pages between the processes that map
// them, so the sum does not count a shared library twice; page cache and kernel memory
// are not included (a droplet's MemAvailable does not count reclaimable cache either).

import * as fs from "fs";

export const MEMORY_METHOD =
    "sum of Pss (/proc/PID/smaps_rollup) over every process in the test host's PID namespace, sampled every second from outside the host; excludes page cache and kernel memory (nspawn's /proc/meminfo shows the outer machine, and the host has no cgroup of its own here)";

/** The pid namespace of a process, as the inode text of /proc/PID/ns/pid, or undefined when it is gone. */
export function pidNamespace(pid: number, proc = "/proc"): string | undefined {
    try {
        return fs.readlinkSync(`${proc}/${pid}/ns/pid`);
    } catch {
        return undefined;
    }
}

function childrenOf(pid: number, proc: string): number[] {
    const out: number[] = [];
    let tasks: string[];
    try {
        tasks = fs.readdirSync(`${proc}/${pid}/task`);
    } catch {
        return out;
    }
    for (const t of tasks) {
        try {
            const text = fs.readFileSync(`${proc}/${pid}/task/${t}/children`, "utf8").trim();
            if (text) out.push(...text.split(/\s+/).map(Number));
        } catch {
            // the task ended
        }
    }
    return out;
}

/** The first process below `nspawnPid` that lives in another PID namespace: the container's PID 1. */
export function containerInit(nspawnPid: number, proc = "/proc"): number | undefined {
    const outer = pidNamespace(nspawnPid, proc);
    if (outer === undefined) return undefined;
    let level = [nspawnPid];
    for (let depth = 0; depth < 4 && level.length > 0; depth++) {
        const next: number[] = [];
        for (const pid of level) {
            for (const c of childrenOf(pid, proc)) {
                const ns = pidNamespace(c, proc);
                if (ns !== undefined && ns !== outer) return c;
                next.push(c);
            }
        }
        level = next;
    }
    return undefined;
}

/** Pss and Rss in kB of one process (0 when it is gone or unreadable). */
export function processMemoryKb(pid: number, proc = "/proc"): { pss: number; rss: number } {
    try {
        const text = fs.readFileSync(`${proc}/${pid}/smaps_rollup`, "utf8");
        const pss = /^Pss:\s+(\d+) kB/m.exec(text);
        const rss = /^Rss:\s+(\d+) kB/m.exec(text);
        return { pss: pss ? Number(pss[1]) : 0, rss: rss ? Number(rss[1]) : 0 };
    } catch {
        return { pss: 0, rss: 0 };
    }
}

/** One sample: the memory of every process in namespace `ns`. */
export function sampleNamespace(ns: string, proc = "/proc"): { pssKb: number; rssKb: number; processes: number } {
    let pssKb = 0;
    let rssKb = 0;
    let processes = 0;
    for (const entry of fs.readdirSync(proc)) {
        if (!/^\d+$/.test(entry)) continue;
        const pid = Number(entry);
        if (pidNamespace(pid, proc) !== ns) continue;
        const m = processMemoryKb(pid, proc);
        pssKb += m.pss;
        rssKb += m.rss;
        processes++;
    }
    return { pssKb, rssKb, processes };
}

export interface MemoryPeak {
    /** Peak of the Pss sum, MiB. */
    peakMB: number;
    /** Peak of the Rss sum, MiB (counts shared pages once per process: an upper bound). */
    peakRssMB: number;
    peakProcesses: number;
    samples: number;
}

/**
 * Samples a host every `intervalMs` until stopped. `locate` returns the host's nspawn PID
 * once the host exists (it may boot after sampling starts, as in the runner's case).
 */
export class MemorySampler {
    private timer?: NodeJS.Timeout;
    private ns?: string;
    private peak: MemoryPeak = { peakMB: 0, peakRssMB: 0, peakProcesses: 0, samples: 0 };
    private busy = false;

    constructor(
        private readonly locate: () => Promise<number | undefined>,
        private readonly intervalMs = 1000,
    ) {}

    start(): void {
        this.timer = setInterval(() => void this.tick(), this.intervalMs);
        void this.tick();
    }

    private async tick(): Promise<void> {
        if (this.busy) return;
        this.busy = true;
        try {
            if (this.ns === undefined) {
                const pid = await this.locate();
                const init = pid === undefined ? undefined : containerInit(pid);
                this.ns = init === undefined ? undefined : pidNamespace(init);
                if (this.ns === undefined) return;
            }
            const s = sampleNamespace(this.ns);
            if (s.processes === 0) return;
            this.peak = {
                peakMB: Math.max(this.peak.peakMB, s.pssKb / 1024),
                peakRssMB: Math.max(this.peak.peakRssMB, s.rssKb / 1024),
                peakProcesses: Math.max(this.peak.peakProcesses, s.processes),
                samples: this.peak.samples + 1,
            };
        } catch {
            // a sample that failed (host going away) is skipped
        } finally {
            this.busy = false;
        }
    }

    /** Stops sampling; the peak over all samples (undefined when nothing was sampled). */
    stop(): MemoryPeak | undefined {
        if (this.timer) clearInterval(this.timer);
        this.timer = undefined;
        return this.peak.samples > 0 ? { ...this.peak } : undefined;
    }
}
