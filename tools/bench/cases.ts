// The provisioning cases, each on its own fresh test host (see tools/bench/README.md):
//   optimized  the runner (tools/local/run.ts) on a fresh host: the program's stage graph as built
//   rerun      the runner again on that host (--reuse): every stage runs again
//   naive      tools/bench/naive.sh: the same packages, one stage after another, apt's defaults
//   floor      tools/bench/floor.sh: everything downloaded, then one eatmydata dpkg transaction
// and the untimed warm-up that fills the shared apt cache first.

import { startRunner } from "../shared/runnerProcess";
import type { IdeSource } from "../../components/ideSources";
import * as fs from "fs";
import * as path from "path";
import type { RunRecord } from "../local/child";
import { HostState } from "../local/runnerState";
import { writeTimelinePage } from "../timeline/page";
import { decodeResolved, toPlain } from "../local/outputs";
import { MemorySampler } from "./memory";
import { allPackages, PackageSet } from "./packages";
import { CaseRun, INSTALL_STAGES, span } from "./resultsShape";
import { BenchHost, HarnessKey, listHosts, parseRecipeOutput, runRecipe, startHost, stopHost } from "./target";

/** One IDE as the recipes take it: "NAME PACKAGE REPO_URL SUITE COMPONENTS KEY_URL KEYRING". */
export interface IdeRepo extends Pick<IdeSource, "repoUrl" | "suite" | "components" | "keyUrl" | "keyring"> {
    name: string;
    /** The package the recipe installs: the source's first candidate. */
    package: string;
}

export function ideLines(ides: readonly IdeRepo[]): string {
    return ides
        .map((i) => {
            const fields = [i.name, i.package, i.repoUrl, i.suite, i.components, i.keyUrl, i.keyring];
            for (const f of fields) if (!f || /\s/.test(f)) throw new Error(`IDE ${i.name}: field ${JSON.stringify(f)} is empty or has spaces (the recipes read space-separated fields)`);
            return fields.join(" ");
        })
        .join("\n");
}

/** What a case needs to reach the IDE repository of a host it booted itself. */
export interface IdeProvider {
    /** The IDE repositories for the host at `index` (served on its gateway). */
    ides(host: BenchHost): IdeRepo[];
    /** Serves them for this host until closed. */
    serve(host: BenchHost): Promise<{ close(): Promise<void> | void }>;
}

export interface CaseContext {
    key: HarnessKey;
    packages: PackageSet;
    ideProvider: IdeProvider;
    /** Whether the stack installs the desktop (naive skips desktop's packages when not). */
    desktop: boolean;
    stack: string;
    logDir: string;
    /** Cleanup actions registered while a case runs (run on Ctrl-C too). */
    cleanups: Map<string, () => Promise<void>>;
    say(line: string): void;
}

function logStream(ctx: CaseContext, name: string): fs.WriteStream {
    fs.mkdirSync(ctx.logDir, { recursive: true });
    return fs.createWriteStream(path.join(ctx.logDir, `${name}.log`), { flags: "a" });
}

function closeStream(s: fs.WriteStream): Promise<void> {
    return new Promise((resolve) => s.end(resolve));
}

async function locatePid(name: string): Promise<number | undefined> {
    return (await listHosts()).find((h) => h.name === name)?.pid;
}

/** Boots a host, serves the IDE repo for it, runs `body`, and always stops it. */
async function withHost<T>(ctx: CaseContext, name: string, index: number, body: (host: BenchHost) => Promise<T>): Promise<T> {
    const stop = (): Promise<void> => stopHost(name);
    ctx.cleanups.set(name, stop);
    try {
        await stopHost(name); // left over from an interrupted run, up or half-made; a no-op otherwise
        const host = await startHost(name, index, ctx.key);
        const repo = await ctx.ideProvider.serve(host);
        try {
            return await body(host);
        } finally {
            await repo.close();
        }
    } finally {
        await stop();
        ctx.cleanups.delete(name);
    }
}

function stageVars(ctx: CaseContext): string {
    return ctx.packages.stages
        .filter((s) => ctx.desktop || s.stage !== "desktop")
        .map((s) => `${s.stage} ${s.packages.join(" ")}`)
        .join("\n");
}

function failedRun(run: number, host: string, err: unknown): CaseRun {
    return { run, host, ok: false, error: (err as Error).message.split("\n")[0], totalSeconds: 0, stages: {} };
}

export async function warmCache(ctx: CaseContext, index: number): Promise<number> {
    const name = "bench-warm";
    return withHost(ctx, name, index, async (host) => {
        const log = logStream(ctx, name);
        try {
            const out = await runRecipe(host, ctx.key, "floor.sh", {
                BENCH_MODE: "warm",
                BENCH_PACKAGES: allPackages({ stages: ctx.packages.stages, ides: [] }).join(" "),
                BENCH_IDES: ideLines(ctx.ideProvider.ides(host)),
            }, log);
            return parseRecipeOutput(out).stages.find((s) => s.stage === "warm")?.seconds ?? 0;
        } finally {
            await closeStream(log);
        }
    });
}

/**
 * One recipe case (naive.sh, floor.sh) on a fresh host: the recipe runs with its variables
 * while memory is sampled; `result` reads its parsed output into the case's times.
 */
async function runRecipeCase(
    ctx: CaseContext,
    run: number,
    name: string,
    index: number,
    recipe: string,
    vars: (host: BenchHost) => Record<string, string>,
    result: (out: ReturnType<typeof parseRecipeOutput>) => Pick<CaseRun, "totalSeconds" | "stages" | "untimedSeconds">,
): Promise<CaseRun> {
    try {
        return await withHost(ctx, name, index, async (host) => {
            const sampler = new MemorySampler(async () => host.pid);
            const log = logStream(ctx, name);
            try {
                const recipeVars = vars(host);
                // The sampler runs through the whole script; floor's download part uses little memory.
                sampler.start();
                const out = parseRecipeOutput(await runRecipe(host, ctx.key, recipe, recipeVars, log));
                const mem = sampler.stop();
                return { run, host: name, ok: true, ...result(out), memoryPeakMB: mem?.peakMB, memoryPeakRssMB: mem?.peakRssMB };
            } finally {
                sampler.stop();
                await closeStream(log);
            }
        });
    } catch (err) {
        return failedRun(run, name, err);
    }
}

export function runNaive(ctx: CaseContext, run: number, index: number): Promise<CaseRun> {
    return runRecipeCase(ctx, run, `bench-n${run}`, index, "naive.sh",
        (host) => ({ BENCH_STAGES: stageVars(ctx), BENCH_IDES: ideLines(ctx.ideProvider.ides(host)), BENCH_IDE_AFTER: ctx.desktop ? "desktop" : "system-prep" }),
        (out) => {
            if (out.total === undefined) throw new Error("naive.sh printed no total");
            return { totalSeconds: out.total, stages: Object.fromEntries(out.stages.map((s) => [s.stage, s.seconds])) };
        });
}

export function runFloor(ctx: CaseContext, run: number, index: number): Promise<CaseRun> {
    return runRecipeCase(ctx, run, `bench-f${run}`, index, "floor.sh",
        (host) => ({
            BENCH_PACKAGES: allPackages({ stages: ctx.packages.stages.filter((s) => ctx.desktop || s.stage !== "desktop"), ides: [] }).join(" "),
            BENCH_IDES: ideLines(ctx.ideProvider.ides(host)),
        }),
        (out) => {
            const install = out.stages.find((s) => s.stage === "install");
            if (!install) throw new Error("floor.sh printed no install timing");
            return { totalSeconds: install.seconds, stages: { install: install.seconds }, untimedSeconds: out.stages.find((s) => s.stage === "prepare")?.seconds };
        });
}

/** The runner as a child process; resolves with its exit code. Output goes to the log. */
function runner(args: string[], log: fs.WriteStream): Promise<number> {
    return startRunner(args, { onOutput: (text) => log.write(text) }).exited.then(({ code, signal }) => code ?? (signal ? 128 : 1));
}

/** A case run from the runner's run record: totals are the stages' wall clock (first start to last end). */
export function caseRunFromRecord(run: number, host: string, rec: RunRecord, code: number): CaseRun {
    const stages: Record<string, number> = {};
    for (const s of rec.stages) stages[s.stage] = s.seconds;
    const total = span(rec.stages, rec.stages.map((s) => s.stage)) ?? 0;
    const failed = rec.stages.filter((s) => !s.ok).map((s) => s.stage);
    return {
        run,
        host,
        ok: rec.ok && code === 0,
        error: rec.ok && code === 0 ? undefined : `runner exit ${code}${failed.length ? `, failed: ${failed.join(", ")}` : ""}: ${(rec.error ?? "").split("\n")[0]}`,
        totalSeconds: total,
        stages,
        installSeconds: span(rec.stages, INSTALL_STAGES),
    };
}

/** The case's timeline picture beside its log (<case>.timeline.html), when its stages reported timings. */
export function writeCaseTimeline(ctx: Pick<CaseContext, "logDir" | "say">, caseName: string, rec: RunRecord): string | undefined {
    const outputs = toPlain(decodeResolved(rec.outputs), false) as Record<string, unknown> | null;
    if (!outputs || outputs.timings === undefined) return undefined;
    const page = writeTimelinePage(outputs, path.join(ctx.logDir, `${caseName}.timeline.html`), `bench case ${caseName}`);
    ctx.say(`    timeline: ${page}`);
    return page;
}

async function runnerCase(ctx: CaseContext, run: number, name: string, args: string[], sample: boolean): Promise<CaseRun> {
    const log = logStream(ctx, args.includes("--reuse") ? `${name}-rerun` : name);
    const sampler = sample ? new MemorySampler(() => locatePid(name)) : undefined;
    const started = Date.now();
    try {
        sampler?.start();
        const code = await runner(args, log);
        const mem = sampler?.stop();
        const rec = new HostState(name).readRun<RunRecord>();
        if (!rec || rec.startedAt < started) throw new Error(`runner exit ${code} without a run record (log: ${path.join(ctx.logDir, name)}.log)`);
        writeCaseTimeline(ctx, args.includes("--reuse") ? `${name}-rerun` : name, rec);
        return { ...caseRunFromRecord(run, name, rec, code), memoryPeakMB: mem?.peakMB, memoryPeakRssMB: mem?.peakRssMB };
    } catch (err) {
        return failedRun(run, name, err);
    } finally {
        sampler?.stop();
        await closeStream(log);
    }
}

/**
 * optimized on a fresh host named bench-o<run>, then (when asked) the re-run on the same
 * host; the host is stopped afterwards in every case.
 */
export async function runOptimized(ctx: CaseContext, run: number, rerun: boolean): Promise<{ optimized: CaseRun; rerun?: CaseRun }> {
    const name = `bench-o${run}`;
    const down = async (): Promise<void> => {
        const log = logStream(ctx, `${name}-down`);
        try {
            await runner(["--down", name], log);
        } finally {
            await closeStream(log);
        }
    };
    ctx.cleanups.set(name, down);
    try {
        await down(); // left over from an interrupted run, up or half-made; a no-op otherwise
        ctx.say(`  optimized: npm run local -- --name ${name} --stack ${ctx.stack}`);
        const optimized = await runnerCase(ctx, run, name, ["--name", name, "--stack", ctx.stack], true);
        if (!rerun) return { optimized };
        if (!optimized.ok) return { optimized, rerun: failedRun(run, name, new Error("not run: the optimized run before it failed")) };
        ctx.say(`  re-run: npm run local -- --reuse ${name} --stack ${ctx.stack}`);
        return { optimized, rerun: await runnerCase(ctx, run, name, ["--reuse", name, "--stack", ctx.stack], false) };
    } finally {
        await down();
        ctx.cleanups.delete(name);
    }
}
