// `npm run bench -- [--runs K] ...`: provisioning on the local target, measured side by side
// (see tools/bench/README.md and the README's performance section). Writes tools/bench/results.json and
// prints a Markdown report; exits 1 when a threshold is crossed or a run failed, 2 on bad
// options.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CONFIG_NAMESPACE, parseConfig } from "../../components/config";
import { DEFAULT_IDE_SOURCES, IdeName } from "../../components/ideSources";
import { USAGE_EXIT_CODE, runCli, usageFailure } from "../shared/cli";
import { listStacks, loadStackConfig } from "../shared/stackConfig";
import { sourcesFor } from "../local/standinRepo";
import { serveStandinFor, snapshotTarball } from "../local/testHost";
import { BenchOptions, CaseName, parseArgs, USAGE, UsageError } from "./args";
import { bakeImage, CaseContext, IdeProvider, IdeRepo, runFloor, runFromImage, runNaive, runOptimized, warmCache } from "./cases";
import { checkLinksApplicable, LinkError, linkLabel } from "./link";
import { benchmarkKeys, KEY_BUDGET_MS, KEY_NOTE } from "./keygen";
import { MEMORY_METHOD } from "./memory";
import { packageSet, PackageSet } from "./packages";
import { BenchResults, CaseRun, checkResultsShape, FleetSummary, HostCase, METRICS, metricSamples, SCHEMA, summarizeMetrics } from "./resultsShape";
import { fleetEnv, runFleetCase } from "./fleet";
import { PERCENTILE_METHOD, round } from "./stats";
import { renderReport } from "./table";
import { evaluateThresholds, parseThresholds, Threshold, ThresholdError, thresholdsPassed } from "./threshold";
import { BenchHost, HarnessKey, PROJECT_DIR } from "./target";

export const DEFINITIONS: Record<string, string> = {
    optimized:
        "npm run local (the unchanged program under Pulumi mocks) on a fresh test host with the stack's config: the stage graph as built (parallel desktop/IDE/monitor stages, tuned apt). Seconds: first stage start to last stage end (wait-ready to report, as the runner measures them over SSH); host boot not included.",
    naive: "tools/bench/naive.sh on a fresh test host: the same packages, one stage after another, apt-get update + apt-get install -y per stage, apt's defaults (Recommends, no lock timeout, no eatmydata, man-db triggers on), IDE repositories added as one-line .list sources. Only packages: none of the program's other work (user, swap, xrdp config, monitor, verify, harden config, report), so the ratio is conservative.",
    floor: "tools/bench/floor.sh on a fresh test host: everything downloaded first (untimed), then one timed `eatmydata apt-get install --no-install-recommends` of the whole package set: one dpkg transaction, no network, no fsync, man-db trigger off.",
    rerun: "npm run local -- --reuse on the host optimized just provisioned: every stage runs again (as when every trigger changed) and finds its work done.",
    key: "ED25519 and RSA-4096 generation with node's crypto.generateKeyPair, interleaved, after one untimed first generation of each.",
    "optimized.install": "optimized's install stages only (system-prep start to the last of desktop, IDEs and harden), the part naive also does.",
    link: "tc on both ends of each test host's veth pair (link.ts): tbf at the shaped link's rate; `none` is unshaped. optimized and naive run over each link; unshaped figures keep today's names, shaped ones are shaped.*, download.seconds, limit.seconds and optimized/limit.",
    download:
        "the download floor: every .deb of the package set (the URIs apt would fetch for floor's install, stand-ins at real size) fetched at once with curl, 8 connections, over the link; first request to last byte. Measured on the floor host over each link in turn.",
    limit: "max(dpkg floor, download floor over the shaped link), per run: an ideal program hides the downloads behind dpkg, or dpkg behind the downloads.",
    "from-image":
        "npm run local on a fresh host booted from an image baked once per bench (role: image, untimed), with image = its snapshot and no home volume; seconds from the program's start (host root mounted and booted) to the last stage's end, against optimized's same figure in the same run over the same link (from-image/fresh).",
    restart:
        "npm run local -- --stop on optimized's host (the host goes, the home volume stays), then --start (a new host from the baked image when from-image ran, else the stack's image; the volume attached); the runner's stop and start seconds (from the command's start to the host gone / to ready).",
    fleet: "N fresh workstations (bench-fl1..N, stacks <env>-bench-fl<k>) deployed at once by the deploy driver's runFleet (its concurrency cap, its reportFleet percentiles) on stacks backed by the runner (tools/bench/runnerStacks.ts: up = npm run local -- --name <host> --stack <env> --set homeVolumeGb=0, outputs from the run record), unshaped. Time to ready: from the driver's up on the member's stack to the end of its last stage (runner start, host boot, every stage). Runner launches are spaced until each host holds its index. fleet.failures: members whose up failed.",
    "fleet-single":
        "one workstation (bench-fl0) deployed alone through the same driver and provider just before the fleet, timed the same way: the denominator of fleet/single (the fleet members' p50 time to ready over it).",
};

const DEFAULT_THRESHOLDS = path.join(__dirname, "thresholds.json");
const DEFAULT_OUT = path.join(__dirname, "results.json");
/** One timeline picture per case of the latest bench (issue 16), committed with its results. */
const TIMELINE_DIR = path.join(__dirname, "timelines");
/** Index range of the bench's own hosts (others use low indexes). */
const FIRST_INDEX = 40;

function say(line: string): void {
    process.stderr.write(`bench: ${line}\n`);
}

function loadThresholds(file: string): Threshold[] {
    let doc: unknown;
    try {
        doc = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
        throw new ThresholdError(`${file}: ${(err as Error).message}`);
    }
    return parseThresholds(doc, Object.keys(METRICS), file);
}

/** The local target's stand-in IDE repositories, served on each bench host's gateway. */
function standinProvider(ides: IdeName[]): IdeProvider {
    return {
        ides: (host: BenchHost): IdeRepo[] => {
            const over = sourcesFor(host.gatewayIp);
            return ides.map((name) => {
                const s = { ...DEFAULT_IDE_SOURCES[name], ...over[name] };
                return {
                    name,
                    package: s.candidates[0].package,
                    repoUrl: s.repoUrl,
                    suite: s.suite,
                    components: s.components,
                    keyUrl: s.keyUrl,
                    keyring: s.keyring,
                };
            });
        },
        serve: (host: BenchHost) => serveStandinFor(host),
    };
}

function stackShape(stack: string): { ides: IdeName[]; desktop: boolean } {
    // The program's own parser: the bench measures the stages that stack's config selects.
    const { values } = loadStackConfig(PROJECT_DIR, stack);
    const config = parseConfig((key) => values[`${CONFIG_NAMESPACE}:${key}`], stack);
    return { ides: [...config.ides], desktop: config.desktop };
}

/** Case order within run `run` (1-based): rotated so that drift over time hits every case alike. */
export function caseOrder(run: number): ("optimized" | "naive" | "floor")[] {
    const base: ("optimized" | "naive" | "floor")[] = ["optimized", "naive", "floor"];
    const k = (run - 1) % base.length;
    return [...base.slice(k), ...base.slice(0, k)];
}

/** Index of a bench-own host (naive, floor) of run `run`: distinct per run and slot (0 floor, 1+i naive over link i). */
export function hostIndex(run: number, slot: number): number {
    return FIRST_INDEX + 1 + (run - 1) * 3 + slot;
}

function report(results: CaseRun[]): void {
    for (const r of results) {
        const extra =
            r.stopSeconds !== undefined
                ? ` (stop ${r.stopSeconds.toFixed(1)} s, start ${r.startSeconds?.toFixed(1) ?? "–"} s)`
                : r.readySeconds !== undefined
                  ? ` (ready ${r.readySeconds.toFixed(1)} s from the program's start)`
                  : "";
        say(
            `  ${r.host}${r.link ? ` [${r.link}]` : ""}: ${r.ok ? `${r.totalSeconds.toFixed(1)} s${extra}${r.memoryPeakMB ? `, peak ${r.memoryPeakMB.toFixed(0)} MiB` : ""}` : `FAILED: ${r.error}`}`,
        );
    }
}

async function hostCases(
    opts: BenchOptions,
    ctx: CaseContext,
    cases: Partial<Record<HostCase, CaseRun[]>>,
    fleet: FleetSummary[],
): Promise<{ warm: number; bake?: BenchResults["bake"] }> {
    const want = (c: CaseName): boolean => opts.cases.includes(c);
    const push = (c: HostCase, r: CaseRun | undefined): void => {
        if (r) (cases[c] ??= []).push(r);
    };
    say("warming the shared apt cache (untimed): every package, with Recommends and without");
    const warm = await warmCache(ctx, FIRST_INDEX);
    say(`  warm-up done in ${warm.toFixed(0)} s`);
    let bake: BenchResults["bake"];
    if (want("from-image")) {
        say("baking the image from-image boots (untimed): the program with role: image on bench-bake");
        bake = await bakeImage(ctx, `bench-${Date.now()}`);
        say(bake.ok ? `  baked snapshot ${bake.snapshotId} in ${bake.seconds.toFixed(0)} s` : `  bake FAILED: ${bake.error}`);
        if (bake.snapshotId) {
            const tarball = snapshotTarball(bake.snapshotId);
            ctx.cleanups.set("bench-bake-image", async () => fs.rmSync(tarball, { force: true }));
        }
    }
    // rerun, restart and from-image go with the first link (the shaped one by default).
    const primary = opts.links[0];
    for (let run = 1; run <= opts.runs; run++) {
        for (const c of caseOrder(run)) {
            if (!want(c)) continue;
            if (c === "floor") {
                say(`run ${run}/${opts.runs}: floor (download floor over ${opts.links.map(linkLabel).join(", ")}, then dpkg)`);
                const r = await runFloor(ctx, run, hostIndex(run, 0), opts.links);
                push("floor", r);
                report([r]);
                continue;
            }
            for (const [i, link] of opts.links.entries()) {
                say(`run ${run}/${opts.runs}: ${c}, link ${linkLabel(link)}`);
                if (c === "naive") {
                    const r = await runNaive(ctx, run, hostIndex(run, 1 + i), link);
                    push("naive", r);
                    report([r]);
                    continue;
                }
                const isPrimary = link === primary;
                const restart = isPrimary && want("restart") ? { image: bake?.snapshotId } : undefined;
                const r = await runOptimized(ctx, run, link, { rerun: isPrimary && want("rerun"), restart });
                push("optimized", r.optimized);
                push("rerun", r.rerun);
                push("restart", r.restart);
                report([r.optimized, ...(r.rerun ? [r.rerun] : []), ...(r.restart ? [r.restart] : [])]);
                if (isPrimary && want("from-image")) {
                    const f = bake?.snapshotId
                        ? await runFromImage(ctx, run, link, bake.snapshotId)
                        : {
                              run,
                              host: `bench-i${run}`,
                              ok: false,
                              error: `not run: the bake failed: ${bake?.error ?? "unknown"}`,
                              totalSeconds: 0,
                              stages: {},
                              link: linkLabel(link),
                          };
                    push("from-image", f);
                    report([f]);
                }
            }
        }
        if (want("fleet") && opts.fleet !== undefined) {
            say(`run ${run}/${opts.runs}: fleet of ${opts.fleet}, unshaped`);
            const r = await runFleetCase(ctx, run, opts.fleet, opts.stack);
            push("fleet-single", r.single);
            for (const m of r.members) push("fleet", m);
            fleet.push(r.summary);
            report([r.single, ...r.members]);
            const f = r.summary;
            say(
                `  fleet: ${f.failures} of ${f.size} failed, at most ${f.peakInFlight} at once (cap ${f.concurrencyCap}); time to ready p50/p95/p99 ${f.readySeconds ? `${f.readySeconds.p50}/${f.readySeconds.p95}/${f.readySeconds.p99} s` : "–"}, fleet p50/single ${f.fleetOverSingle ?? "–"}`,
            );
        }
    }
    return { warm, bake };
}

export async function main(argv: string[]): Promise<number> {
    let opts: BenchOptions;
    let thresholds: Threshold[];
    try {
        opts = parseArgs(argv, listStacks(PROJECT_DIR), { thresholdsFile: DEFAULT_THRESHOLDS, outFile: DEFAULT_OUT });
        if (opts.help) {
            process.stdout.write(`${USAGE}\n`);
            return 0;
        }
        thresholds = loadThresholds(opts.thresholdsFile);
        if (opts.cases.includes("fleet")) fleetEnv(opts.stack);
    } catch (err) {
        return usageFailure("npm run bench", err instanceof ThresholdError ? new UsageError(err.message) : err, USAGE);
    }
    const hostCaseNames = opts.cases.filter((c) => c !== "key");
    if (hostCaseNames.length > 0 && process.getuid?.() !== 0) {
        process.stderr.write(
            "npm run bench: the provisioning cases boot test hosts (network namespaces, systemd-nspawn) and need root; run as root, or --cases key\n",
        );
        return USAGE_EXIT_CODE;
    }
    if (hostCaseNames.length > 0) {
        try {
            await checkLinksApplicable(opts.links);
        } catch (err) {
            if (err instanceof LinkError) {
                process.stderr.write(`npm run bench: ${err.message}\n`);
                return 2;
            }
            throw err;
        }
    }

    // The bench's hosts (its own and the runner's) live in a state dir of their own, so that
    // `testhost.sh down --all` from other work on this machine cannot stop them mid-run.
    // The apt cache (WS_CACHE_DIR) and the proxy stay shared.
    if (!process.env.WS_STATE_DIR) {
        const cache = process.env.WS_CACHE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "workstation");
        process.env.WS_STATE_DIR = path.join(cache, "bench-run");
    }
    const startedAt = new Date();
    const cases: Partial<Record<HostCase, CaseRun[]>> = {};
    const fleet: FleetSummary[] = [];
    let keys: Awaited<ReturnType<typeof benchmarkKeys>> | undefined;
    let packages: PackageSet | undefined;
    let warmupSeconds: number | undefined;
    let bake: BenchResults["bake"];
    const key = new HarnessKey();
    const cleanups = new Map<string, () => Promise<void>>();
    let interrupted = false;
    const onSignal = (sig: NodeJS.Signals): void => {
        if (interrupted) return;
        interrupted = true;
        say(`${sig}: stopping the bench's test hosts`);
        void Promise.allSettled([...cleanups.values()].map((f) => f())).then(() => process.exit(130));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("SIGHUP", onSignal);
    try {
        if (opts.cases.includes("key")) {
            say(`key generation: ${opts.keyRuns} x ED25519 and RSA-4096`);
            keys = await benchmarkKeys(opts.keyRuns);
        }
        if (hostCaseNames.length > 0) {
            const shape = stackShape(opts.stack);
            packages = packageSet(shape.ides.map((ide) => ({ ide, package: DEFAULT_IDE_SOURCES[ide].candidates[0].package })));
            const ctx: CaseContext = {
                key,
                packages,
                ideProvider: standinProvider(shape.ides),
                desktop: shape.desktop,
                stack: opts.stack,
                logDir: path.join(PROJECT_DIR, ".local-target", "bench", startedAt.toISOString().replace(/[:.]/g, "-")),
                timelineDir: TIMELINE_DIR,
                cleanups,
                say,
            };
            say(`logs: ${ctx.logDir}`);
            ({ warm: warmupSeconds, bake } = await hostCases(opts, ctx, cases, fleet));
        }
    } finally {
        await Promise.allSettled([...cleanups.values()].map((f) => f()));
    }

    const samples = metricSamples(cases, keys?.samplesMs);
    const outcomes = evaluateThresholds(thresholds, samples);
    const failedRuns = Object.values(cases)
        .flat()
        .filter((r) => !r.ok);
    const results: BenchResults = {
        schema: SCHEMA,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
        machine: { cpus: os.cpus().length, memoryGiB: round(os.totalmem() / 2 ** 30, 1), kernel: os.release(), node: process.version },
        options: { runs: opts.runs, cases: opts.cases, keyRuns: opts.keyRuns, stack: opts.stack, links: opts.links.map(linkLabel), fleet: opts.fleet },
        percentileMethod: PERCENTILE_METHOD,
        memoryMethod: MEMORY_METHOD,
        definitions: Object.fromEntries(
            Object.entries(DEFINITIONS).filter(
                ([k]) =>
                    ["optimized.install", "link"].includes(k) ||
                    (opts.cases as string[]).includes(k) ||
                    (["download", "limit"].includes(k) && opts.cases.includes("floor")) ||
                    (k === "fleet-single" && opts.cases.includes("fleet")),
            ),
        ),
        packageSet: packages,
        warmupSeconds: warmupSeconds === undefined ? undefined : round(warmupSeconds, 1),
        bake: bake === undefined ? undefined : { ...bake, seconds: round(bake.seconds, 1) },
        cases: Object.fromEntries(
            Object.entries(cases).map(([c, runs]) => [
                c,
                runs.map((r) => ({
                    ...r,
                    totalSeconds: round(r.totalSeconds, 2),
                    installSeconds: r.installSeconds === undefined ? undefined : round(r.installSeconds, 2),
                    readySeconds: r.readySeconds === undefined ? undefined : round(r.readySeconds, 2),
                    downloads: r.downloads?.map((d) => ({ ...d, seconds: round(d.seconds, 2) })),
                    memoryPeakMB: r.memoryPeakMB === undefined ? undefined : round(r.memoryPeakMB, 1),
                    memoryPeakRssMB: r.memoryPeakRssMB === undefined ? undefined : round(r.memoryPeakRssMB, 1),
                    stages: Object.fromEntries(Object.entries(r.stages).map(([s, v]) => [s, round(v, 2)])),
                })),
            ]),
        ),
        fleet: fleet.length ? fleet : undefined,
        metrics: summarizeMetrics(samples),
        key: keys
            ? {
                  runs: opts.keyRuns,
                  note: KEY_NOTE,
                  budgetMs: KEY_BUDGET_MS,
                  coldMs: { ed25519: round(keys.coldMs.ed25519, 3), rsa4096: round(keys.coldMs.rsa4096, 1) },
              }
            : undefined,
        thresholds: outcomes.map((o) => ({ ...o, value: o.value === undefined ? undefined : round(o.value, 3) })),
        ok: thresholdsPassed(outcomes) && failedRuns.length === 0,
    };
    const problems = checkResultsShape(JSON.parse(JSON.stringify(results)));
    if (problems.length > 0) throw new Error(`the results do not have the documented shape:\n${problems.join("\n")}`);
    fs.writeFileSync(opts.outFile, JSON.stringify(results, null, 2) + "\n");
    process.stdout.write(renderReport(results));
    say(`results: ${path.relative(process.cwd(), opts.outFile) || opts.outFile}`);
    if (failedRuns.length > 0) say(`${failedRuns.length} run(s) failed (see the report and the logs)`);
    const crossed = outcomes.filter((o) => o.status === "fail");
    for (const o of crossed) say(`threshold crossed: ${o.metric} ${o.expression} (value ${o.value})`);
    return results.ok ? 0 : 1;
}

if (require.main === module) runCli("npm run bench", main);
