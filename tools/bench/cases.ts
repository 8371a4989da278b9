// The provisioning cases, each on its own fresh test host (see tools/bench/README.md):
//   optimized  the runner (tools/local/run.ts) on a fresh host: the program's stage graph as built
//   rerun      the runner again on that host (--reuse): every stage runs again
//   naive      tools/bench/naive.sh: the same packages, one stage after another, apt's defaults
//   floor      tools/bench/floor.sh: the download floor over each link, then (everything
//              downloaded) one eatmydata dpkg transaction
//   from-image the runner on a fresh host booted from an image baked once per bench (bake)
//   restart    --stop then --start of optimized's host, with its home volume
// and the untimed warm-up that fills the shared apt cache first. Network-bound cases run
// over a link shaped by link.ts.

import { startRunner } from "../shared/runnerProcess";
import type { IdeSource } from "../../components/ideSources";
import * as fs from "fs";
import * as path from "path";
import type { RunRecord } from "../local/programRun";
import { HostState, stackVolumeFiles, volumeOwner } from "../local/runnerState";
import { destroyVolume } from "../local/volume";
import { writeTimelinePage } from "../timeline/page";
import { decodeResolved, toPlain } from "../local/outputs";
import { applyLink, LinkSpec, LinkWatcher, linkLabel } from "./link";
import { MemorySampler } from "./memory";
import { allPackages, PackageSet } from "./packages";
import { CaseRun, DownloadFloor, INSTALL_STAGES, span } from "./resultsShape";
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
            for (const f of fields)
                if (!f || /\s/.test(f))
                    throw new Error(`IDE ${i.name}: field ${JSON.stringify(f)} is empty or has spaces (the recipes read space-separated fields)`);
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
    /** Where each case's timeline picture goes (tools/bench/timelines), besides the log dir. */
    timelineDir: string;
    /** Cleanup actions registered while a case runs (run on Ctrl-C too). */
    cleanups: Map<string, () => Promise<void>>;
    say(line: string): void;
}

export function logStream(ctx: Pick<CaseContext, "logDir">, name: string): fs.WriteStream {
    fs.mkdirSync(ctx.logDir, { recursive: true });
    return fs.createWriteStream(path.join(ctx.logDir, `${name}.log`), { flags: "a" });
}

export function closeStream(s: fs.WriteStream): Promise<void> {
    return new Promise((resolve) => s.end(resolve));
}

async function locatePid(name: string): Promise<number | undefined> {
    return (await listHosts()).find((h) => h.name === name)?.pid;
}

/** Boots a host, serves the IDE repo for it, runs `body`, and always stops it. */
async function withHost<T>(ctx: CaseContext, name: string, index: number, link: LinkSpec, body: (host: BenchHost) => Promise<T>): Promise<T> {
    const stop = (): Promise<void> => stopHost(name);
    ctx.cleanups.set(name, stop);
    try {
        await stopHost(name); // left over from an interrupted run, up or half-made; a no-op otherwise
        const host = await startHost(name, index, ctx.key);
        await applyLink(link, name, host.index);
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

export function failedRun(run: number, host: string, err: unknown): CaseRun {
    return { run, host, ok: false, error: (err as Error).message.split("\n")[0], totalSeconds: 0, stages: {} };
}

export async function warmCache(ctx: CaseContext, index: number): Promise<number> {
    const name = "bench-warm";
    return withHost(ctx, name, index, { kind: "none" }, async (host) => {
        const log = logStream(ctx, name);
        try {
            const out = await runRecipe(
                host,
                ctx.key,
                "floor.sh",
                {
                    BENCH_MODE: "warm",
                    BENCH_PACKAGES: allPackages({ stages: ctx.packages.stages, ides: [] }).join(" "),
                    BENCH_IDES: ideLines(ctx.ideProvider.ides(host)),
                },
                log,
            );
            return parseRecipeOutput(out).stages.find((s) => s.stage === "warm")?.seconds ?? 0;
        } finally {
            await closeStream(log);
        }
    });
}

/** Host name of a network-bound case: `bench-<letter><run>`, with an `s` over the shaped link. */
export function caseHostName(letter: string, run: number, link: LinkSpec): string {
    return `bench-${letter}${run}${link.kind === "none" ? "" : "s"}`;
}

/** The timeline picture of a case whose recipe timed its stages one after another (naive, floor). */
export function sequentialTimings(stages: readonly { stage: string; seconds: number }[], startEpochSeconds: number): Record<string, unknown> {
    const out: Record<string, { start: number; end: number; seconds: number; status: string }> = {};
    let t = startEpochSeconds;
    for (const s of stages) {
        out[s.stage] = { start: t, end: t + s.seconds, seconds: s.seconds, status: "ok" };
        t += s.seconds;
    }
    const sum = stages.reduce((a, s) => a + s.seconds, 0);
    return {
        timings: {
            stages: out,
            wallClockSeconds: sum,
            sequentialSeconds: sum,
            parallelSavingsSeconds: 0,
            parallelSavingsPercent: 0,
            criticalPath: { stages: stages.map((s) => s.stage), seconds: sum },
        },
    };
}

function writeTimelines(ctx: Pick<CaseContext, "logDir" | "timelineDir" | "say">, caseName: string, label: string, outputs: unknown, title: string): void {
    writeTimelinePage(outputs, path.join(ctx.logDir, `${caseName}.timeline.html`), title);
    const page = writeTimelinePage(outputs, path.join(ctx.timelineDir, `bench-${label}.html`), title);
    ctx.say(`    timeline: ${path.relative(process.cwd(), page) || page}`);
}

/** Label of a case's picture in tools/bench/timelines: the case, with `-shaped` over the shaped link. */
function timelineLabel(caseName: string, link: LinkSpec | undefined): string {
    return link === undefined || link.kind === "none" ? caseName : `${caseName}-shaped`;
}

/**
 * A recipe case (naive.sh, floor.sh) on a fresh host NAME: the memory sampler (started by
 * the body where the measured part begins) and the case's log around BODY; a failure is
 * the case's failed run, not the bench's.
 */
async function recipeCase(
    ctx: CaseContext,
    run: number,
    name: string,
    index: number,
    link: LinkSpec,
    body: (host: BenchHost, sampler: MemorySampler, log: fs.WriteStream) => Promise<CaseRun>,
): Promise<CaseRun> {
    try {
        return await withHost(ctx, name, index, link, async (host) => {
            const sampler = new MemorySampler(async () => host.pid);
            const log = logStream(ctx, name);
            try {
                return await body(host, sampler, log);
            } finally {
                sampler.stop();
                await closeStream(log);
            }
        });
    } catch (err) {
        return failedRun(run, name, err);
    }
}

export async function runNaive(ctx: CaseContext, run: number, index: number, link: LinkSpec): Promise<CaseRun> {
    const name = caseHostName("n", run, link);
    return recipeCase(ctx, run, name, index, link, async (host, sampler, log) => {
        sampler.start();
        const started = Date.now() / 1000;
        const out = parseRecipeOutput(
            await runRecipe(
                host,
                ctx.key,
                "naive.sh",
                {
                    BENCH_STAGES: stageVars(ctx),
                    BENCH_IDES: ideLines(ctx.ideProvider.ides(host)),
                    BENCH_IDE_AFTER: ctx.desktop ? "desktop" : "system-prep",
                },
                log,
            ),
        );
        const mem = sampler.stop();
        if (out.total === undefined) throw new Error("naive.sh printed no total");
        writeTimelines(
            ctx,
            name,
            timelineLabel("naive", link),
            sequentialTimings(out.stages, started),
            `bench case naive, link ${linkLabel(link)} (one stage after another: starts from the script's stage timings)`,
        );
        return {
            run,
            host: name,
            link: linkLabel(link),
            ok: true,
            totalSeconds: out.total,
            stages: Object.fromEntries(out.stages.map((s) => [s.stage, s.seconds])),
            memoryPeakMB: mem?.peakMB,
            memoryPeakRssMB: mem?.peakRssMB,
        };
    });
}

/**
 * floor on host bench-f<run>: first the download floor over each link in turn (the host's
 * link re-shaped from outside between them; the files of all but the last fetch deleted),
 * then the dpkg floor, which finds everything downloaded.
 */
export async function runFloor(ctx: CaseContext, run: number, index: number, links: readonly LinkSpec[]): Promise<CaseRun> {
    const name = `bench-f${run}`;
    return recipeCase(ctx, run, name, index, links[0], async (host, sampler, log) => {
        const vars = {
            BENCH_PACKAGES: allPackages({ stages: ctx.packages.stages.filter((s) => ctx.desktop || s.stage !== "desktop"), ides: [] }).join(" "),
            BENCH_IDES: ideLines(ctx.ideProvider.ides(host)),
        };
        const downloads: DownloadFloor[] = [];
        for (const [i, link] of links.entries()) {
            await applyLink(link, name, host.index);
            const keep = i === links.length - 1 ? "1" : "0";
            const out = await runRecipe(host, ctx.key, "floor.sh", { ...vars, BENCH_MODE: "download", BENCH_KEEP: keep }, log);
            const d = parseDownload(out);
            downloads.push({ link: linkLabel(link), ...d });
            const atRate = link.kind === "none" ? "" : ` (${((d.bytes * 8) / link.rateBitsPerSecond).toFixed(1)} s at the link's rate)`;
            ctx.say(
                `    download floor over ${linkLabel(link)}: ${d.seconds.toFixed(1)} s for ${(d.bytes / 2 ** 20).toFixed(0)} MiB in ${d.files} files${atRate}`,
            );
        }
        // The sampler runs through the dpkg floor; the download part uses little memory.
        sampler.start();
        const started = Date.now() / 1000;
        const out = parseRecipeOutput(await runRecipe(host, ctx.key, "floor.sh", vars, log));
        const mem = sampler.stop();
        const install = out.stages.find((s) => s.stage === "install");
        if (!install) throw new Error("floor.sh printed no install timing");
        writeTimelines(
            ctx,
            name,
            "floor",
            sequentialTimings([{ stage: "install", seconds: install.seconds }], started + (out.stages.find((s) => s.stage === "prepare")?.seconds ?? 0)),
            "bench case floor (the one timed dpkg transaction)",
        );
        return {
            run,
            host: name,
            ok: true,
            totalSeconds: install.seconds,
            stages: { install: install.seconds },
            untimedSeconds: out.stages.find((s) => s.stage === "prepare")?.seconds,
            downloads,
            memoryPeakMB: mem?.peakMB,
            memoryPeakRssMB: mem?.peakRssMB,
        };
    });
}

/** floor.sh's download mode: its timing and what it fetched. */
export function parseDownload(stdout: string): { seconds: number; files: number; bytes: number } {
    const seconds = parseRecipeOutput(stdout).stages.find((s) => s.stage === "download")?.seconds;
    const line = stdout.split("\n").find((l) => l.startsWith("::bench-download::"));
    if (seconds === undefined || line === undefined) throw new Error("floor.sh (download) printed no download timing");
    const d = JSON.parse(line.slice("::bench-download::".length)) as { files: number; bytes: number };
    return { seconds, files: d.files, bytes: d.bytes };
}

/** The runner as a child process; resolves with its exit code. Output goes to the log. */
function runner(args: string[], log: fs.WriteStream): Promise<number> {
    return startRunner(args, { onOutput: (text) => log.write(text) }).exited.then(({ code, signal }) => code ?? (signal ? 128 : 1));
}

/** A case run from the runner's run record: totals are the stages' wall clock (first start to last end). */
export function caseRunFromRecord(run: number, host: string, rec: RunRecord, code: number): CaseRun {
    const stages: Record<string, number> = {};
    for (const s of rec.stages) stages[s.stage] = s.seconds;
    const total =
        span(
            rec.stages,
            rec.stages.map((s) => s.stage),
        ) ?? 0;
    const failed = rec.stages.filter((s) => !s.ok).map((s) => s.stage);
    return {
        run,
        host,
        ok: rec.ok && code === 0,
        error:
            rec.ok && code === 0
                ? undefined
                : `runner exit ${code}${failed.length ? `, failed: ${failed.join(", ")}` : ""}: ${(rec.error ?? "").split("\n")[0]}`,
        totalSeconds: total,
        stages,
        installSeconds: span(rec.stages, INSTALL_STAGES),
    };
}

/** The case's timeline picture beside its log (<case>.timeline.html), when its stages reported timings; also as tools/bench/timelines/bench-<label>.html when a timeline dir is given. */
export function writeCaseTimeline(
    ctx: Pick<CaseContext, "logDir" | "say"> & { timelineDir?: string },
    caseName: string,
    rec: RunRecord,
    label?: string,
): string | undefined {
    const outputs = toPlain(decodeResolved(rec.outputs), false) as Record<string, unknown> | null;
    if (!outputs || outputs.timings === undefined) return undefined;
    const page = writeTimelinePage(outputs, path.join(ctx.logDir, `${caseName}.timeline.html`), `bench case ${caseName}`);
    if (ctx.timelineDir !== undefined && label !== undefined)
        writeTimelinePage(outputs, path.join(ctx.timelineDir, `bench-${label}.html`), `bench case ${label} (host ${caseName})`);
    ctx.say(`    timeline: ${page}`);
    return page;
}

/** Seconds from the program's start (the droplet created: host root mounted and booted) to the last stage's end. */
export function readySeconds(rec: { startedAt: number; stages: readonly { endedAt: number }[] }): number | undefined {
    if (rec.stages.length === 0) return undefined;
    return (Math.max(...rec.stages.map((s) => s.endedAt)) - rec.startedAt) / 1000;
}

interface RunnerCaseOptions {
    /** Log and picture name (defaults to the host name). */
    logName?: string;
    /** tools/bench/timelines/bench-<label>.html */
    label: string;
    sample: boolean;
    /** Shape the host's link as the runner boots it (not for --reuse/--stop: no new host). */
    link?: LinkSpec;
}

/** Runs the runner for host `name` and reads its run record. */
async function runnerRecord(
    ctx: CaseContext,
    name: string,
    args: string[],
    o: RunnerCaseOptions,
): Promise<{ code: number; rec: RunRecord; mem?: { peakMB: number; peakRssMB: number } }> {
    const logName = o.logName ?? name;
    const log = logStream(ctx, logName);
    const sampler = o.sample ? new MemorySampler(() => locatePid(name)) : undefined;
    const watcher = o.link ? new LinkWatcher(o.link, name) : undefined;
    const started = Date.now();
    try {
        watcher?.start();
        sampler?.start();
        const code = await runner(args, log);
        const mem = sampler?.stop();
        const rec = new HostState(name).readRun<RunRecord>();
        if (!rec || rec.startedAt < started) throw new Error(`runner exit ${code} without a run record (log: ${path.join(ctx.logDir, logName)}.log)`);
        if (watcher && rec.stages.length > 0) {
            // The shaping must have held before the first stage, or the case did not run over the link.
            const at = watcher.shapedAt();
            const first = Math.min(...rec.stages.map((s) => s.startedAt));
            if (at === undefined || at > first)
                throw new Error(
                    `the link ${linkLabel(o.link!)} was not in place before the first stage (${at === undefined ? `never applied: ${watcher.error() ?? "no veth seen"}` : `${((at - first) / 1000).toFixed(1)} s late`})`,
                );
            if (rec.host !== undefined) {
                const broken = await watcher.check();
                if (broken) throw new Error(broken);
            }
        }
        writeCaseTimeline(ctx, logName, rec, o.label);
        return { code, rec, mem };
    } finally {
        watcher?.stop();
        sampler?.stop();
        await closeStream(log);
    }
}

async function runnerCase(ctx: CaseContext, run: number, name: string, args: string[], o: RunnerCaseOptions): Promise<CaseRun> {
    try {
        const { code, rec, mem } = await runnerRecord(ctx, name, args, o);
        return {
            ...caseRunFromRecord(run, name, rec, code),
            link: o.link ? linkLabel(o.link) : undefined,
            readySeconds: readySeconds(rec),
            memoryPeakMB: mem?.peakMB,
            memoryPeakRssMB: mem?.peakRssMB,
        };
    } catch (err) {
        return failedRun(run, name, err);
    }
}

/**
 * `npm run local -- --destroy NAME`: host stopped, keys forgotten, and the stack's home
 * volume deleted, so that the next fresh workstation gets a blank volume as on a new stack
 * (a kept one holds the previous host's /home, users and keys). Never throws.
 */
function runnerDown(ctx: CaseContext, name: string): () => Promise<void> {
    return async (): Promise<void> => {
        const log = logStream(ctx, `${name}-down`);
        try {
            await runner(["--destroy", name], log);
        } catch (err) {
            ctx.say(`  could not stop ${name}: ${(err as Error).message}`);
        } finally {
            await closeStream(log);
        }
    };
}

export interface OptimizedPlan {
    rerun: boolean;
    /** --stop then --start of the host; `image` is the baked image's snapshot id to start from. */
    restart?: { image?: string };
}

/**
 * optimized on a fresh host named bench-o<run> (bench-o<run>s over the shaped link), then
 * (when asked) the re-run on the same host and the restart (stop, then start with the
 * home volume); the host is stopped afterwards in every case.
 */
export async function runOptimized(
    ctx: CaseContext,
    run: number,
    link: LinkSpec,
    plan: OptimizedPlan,
): Promise<{ optimized: CaseRun; rerun?: CaseRun; restart?: CaseRun }> {
    const name = caseHostName("o", run, link);
    const down = runnerDown(ctx, name);
    ctx.cleanups.set(name, down);
    try {
        await down(); // left over from an interrupted run, up or half-made; a no-op otherwise
        // A fresh workstation starts with a blank home volume: one left by other work with
        // this stack (not attached to a running host) would hand it an old /home.
        for (const file of stackVolumeFiles(ctx.stack)) {
            const owner = volumeOwner(file);
            if (owner === undefined || !(await listHosts()).some((h) => h.name === owner)) destroyVolume(file);
        }
        ctx.say(`  optimized: npm run local -- --name ${name} --stack ${ctx.stack} (link ${linkLabel(link)})`);
        const optimized = await runnerCase(ctx, run, name, ["--name", name, "--stack", ctx.stack], {
            label: timelineLabel("optimized", link),
            sample: true,
            link,
        });
        const notRun = (what: string): CaseRun => ({ ...failedRun(run, name, new Error(`not run: the ${what} before it failed`)), link: linkLabel(link) });
        let rerun: CaseRun | undefined;
        if (plan.rerun) {
            if (!optimized.ok) rerun = notRun("optimized run");
            else {
                ctx.say(`  re-run: npm run local -- --reuse ${name} --stack ${ctx.stack}`);
                rerun = {
                    ...(await runnerCase(ctx, run, name, ["--reuse", name, "--stack", ctx.stack], { logName: `${name}-rerun`, label: "rerun", sample: false })),
                    link: linkLabel(link),
                };
            }
        }
        let restart: CaseRun | undefined;
        if (plan.restart) restart = optimized.ok ? await runRestart(ctx, run, name, link, plan.restart.image) : notRun("optimized run");
        return { optimized, rerun, restart };
    } finally {
        await down();
        ctx.cleanups.delete(name);
    }
}

/** restart: `--stop NAME` (the host goes, the volume stays), then `--start NAME` (a new host, the volume attached). */
async function runRestart(ctx: CaseContext, run: number, name: string, link: LinkSpec, image: string | undefined): Promise<CaseRun> {
    try {
        ctx.say(`  restart: npm run local -- --stop ${name}, then --start ${name}${image ? ` --set image=${image}` : ""}`);
        const stop = await runnerRecord(ctx, name, ["--stop", name], { logName: `${name}-stop`, label: "restart-stop", sample: false });
        if (stop.code !== 0 || !stop.rec.ok || stop.rec.lifecycle?.stopSeconds === undefined)
            throw new Error(`--stop exit ${stop.code}: ${(stop.rec.error ?? "no stop time recorded").split("\n")[0]}`);
        const startArgs = ["--start", name, ...(image ? ["--set", `image=${image}`] : [])];
        const start = await runnerRecord(ctx, name, startArgs, { logName: `${name}-start`, label: "restart", sample: false, link });
        const r = caseRunFromRecord(run, name, start.rec, start.code);
        const stopSeconds = stop.rec.lifecycle.stopSeconds;
        const startSeconds = start.rec.lifecycle?.startSeconds;
        if (r.ok && startSeconds === undefined) throw new Error("--start recorded no start time");
        return { ...r, link: linkLabel(link), totalSeconds: stopSeconds + (startSeconds ?? 0), stopSeconds, startSeconds, fromImage: image !== undefined };
    } catch (err) {
        return { ...failedRun(run, name, err), link: linkLabel(link), fromImage: image !== undefined };
    }
}

/**
 * The image from-image boots, baked once per bench (untimed): the unchanged program with
 * role: image on builder host bench-bake, as the image e2e does it. Its snapshot id, or
 * the error. The caller deletes the baked tarball when the bench ends.
 */
export async function bakeImage(ctx: CaseContext, tag: string): Promise<{ seconds: number; snapshotId?: string; ok: boolean; error?: string }> {
    const name = "bench-bake";
    const down = runnerDown(ctx, name);
    ctx.cleanups.set(name, down);
    const t0 = Date.now();
    try {
        await down();
        const { code, rec } = await runnerRecord(ctx, name, ["--name", name, "--stack", ctx.stack, "--set", "role=image", "--set", `imageBake=${tag}`], {
            label: "bake",
            sample: false,
        });
        const outputs = toPlain(decodeResolved(rec.outputs), true) as Record<string, unknown> | null;
        const id = outputs?.snapshotId;
        if (code !== 0 || !rec.ok || (typeof id !== "string" && typeof id !== "number"))
            throw new Error(`bake: runner exit ${code}: ${(rec.error ?? "no snapshotId output").split("\n")[0]}`);
        return { seconds: (Date.now() - t0) / 1000, snapshotId: String(id), ok: true };
    } catch (err) {
        return { seconds: (Date.now() - t0) / 1000, ok: false, error: (err as Error).message.split("\n")[0] };
    } finally {
        await down();
        ctx.cleanups.delete(name);
    }
}

/**
 * from-image on a fresh host bench-i<run> booted from the baked image: the stack's config
 * with `image` naming the snapshot and no home volume (restart covers the volume). Timed
 * like the fresh workstation it is compared with: from the program's start, host boot
 * included, to ready.
 */
export async function runFromImage(ctx: CaseContext, run: number, link: LinkSpec, snapshotId: string): Promise<CaseRun> {
    const name = `bench-i${run}`;
    const down = runnerDown(ctx, name);
    ctx.cleanups.set(name, down);
    try {
        await down();
        ctx.say(`  from-image: npm run local -- --name ${name} --stack ${ctx.stack} --set image=${snapshotId} --set homeVolumeGb=0 (link ${linkLabel(link)})`);
        return await runnerCase(ctx, run, name, ["--name", name, "--stack", ctx.stack, "--set", `image=${snapshotId}`, "--set", "homeVolumeGb=0"], {
            label: "from-image",
            sample: false,
            link,
        });
    } finally {
        await down();
        ctx.cleanups.delete(name);
    }
}
