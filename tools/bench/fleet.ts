// The fleet case (issue 15, "Load"): N fresh workstations provisioned at once through the
// deploy driver's own fleet code (tools/deploy/driver.ts runFleet, with its concurrency cap,
// and reportFleet, with its percentiles) on stacks backed by the local runner
// (runnerStacks.ts), after one workstation alone through the same path: time to ready
// p50/p95/p99 of the members and their p50 over the lone one's. Hosts are bench-fl<k>
// (bench-fl0 the lone one), cleared first when a killed run left them, and brought down
// through the driver afterwards.

import * as fs from "fs";
import * as path from "path";
import { percentile } from "../../components/timing";
import { Environment, isEnvironment, UsageError } from "../deploy/args";
import { DriverDeps, FleetResult, reportFleet, runFleet } from "../deploy/driver";
import { fleetStackConfig, parseFleet, readStackFileConfig } from "../deploy/fleet";
import { CONCURRENCY_CAP } from "../deploy/limits";
import { knownHosts } from "../local/runnerState";
import { hostNames } from "../local/testHost";
import { startRunner } from "../shared/runnerProcess";
import { CaseContext, caseRunFromRecord, closeStream, failedRun, logStream, readySeconds, writeCaseTimeline } from "./cases";
import { CaseRun, FleetSummary } from "./resultsShape";
import { round } from "./stats";
import { machineDeps, RunnerStackDeps, RunnerStackProvider, RunnerUp } from "./runnerStacks";
import { PROJECT_DIR } from "./target";

export const FLEET_HOST_PREFIX = "bench-fl";

/** bench-fl<k>: k = 0 the workstation alone, 1..N the fleet's members. */
export function fleetHostName(k: number): string {
    return `${FLEET_HOST_PREFIX}${k}`;
}

/**
 * What every member (and the lone one) sets over the stack file, as its entry in the fleet
 * file: no home volume, because the runner keeps volumes per stack file and members of one
 * env would share one (runnerStacks.ts runnerSetArgs). The rest is the stack's config.
 */
export const MEMBER_CONFIG: Readonly<Record<string, unknown>> = { homeVolumeGb: 0 };

/** The fleet file the driver reads (tools/deploy/fleet.ts parseFleet): one entry per host. */
export function fleetFileText(hosts: readonly string[], env: Environment): string {
    return JSON.stringify(hosts.map((name) => ({ name, env, config: MEMBER_CONFIG })));
}

/** The env whose stack file the members use: the bench's --stack, which must be a deploy environment. */
export function fleetEnv(stack: string): Environment {
    if (!isEnvironment(stack)) throw new UsageError(`--stack ${JSON.stringify(stack)}: the fleet case deploys <env>-<name> stacks; use dev, staging or prod`);
    return stack;
}

/**
 * A member's case run from what the driver and the provider saw. totalSeconds is its time
 * to ready: from the driver's up on its stack to the end of its last stage (runner start,
 * host boot and every stage included); readySeconds the program's own (its start to ready).
 */
export function memberRun(run: number, host: string, result: FleetResult | undefined, up: RunnerUp | undefined): CaseRun {
    if (up?.record && up.record.startedAt >= up.launchedAt) {
        const r = caseRunFromRecord(run, host, up.record, up.code);
        const lastEnd = up.record.stages.length ? Math.max(...up.record.stages.map((s) => s.endedAt)) : undefined;
        const ok = r.ok && result?.ok === true && lastEnd !== undefined;
        return {
            ...r,
            ok,
            error: ok ? undefined : (r.error ?? result?.error?.split("\n")[0] ?? "no stage ran"),
            totalSeconds: ok && lastEnd !== undefined ? (lastEnd - up.calledAt) / 1000 : 0,
            readySeconds: readySeconds(up.record),
            link: "none",
        };
    }
    return {
        ...failedRun(run, host, new Error(result?.error ?? (up ? `runner exit ${up.code} without a run record` : "the driver never ran its up"))),
        link: "none",
    };
}

/** One repetition's summary from its members and the lone workstation. */
export function fleetSummary(
    run: number,
    members: readonly CaseRun[],
    single: CaseRun | undefined,
    seen: { concurrencyCap: number; peakInFlight: number; ups: readonly Pick<RunnerUp, "calledAt" | "launchedAt" | "endedAt">[] },
    driverReport: string[],
): FleetSummary {
    const times = members.filter((m) => m.ok).map((m) => m.totalSeconds);
    const readySeconds = times.length
        ? { n: times.length, p50: round(percentile(times, 50), 2), p95: round(percentile(times, 95), 2), p99: round(percentile(times, 99), 2) }
        : undefined;
    const singleSeconds = single?.ok ? round(single.totalSeconds, 2) : undefined;
    const launches = seen.ups.map((u) => u.launchedAt);
    return {
        run,
        size: members.length,
        concurrencyCap: seen.concurrencyCap,
        peakInFlight: seen.peakInFlight,
        failures: members.filter((m) => !m.ok).length,
        readySeconds,
        singleSeconds,
        fleetOverSingle: readySeconds && singleSeconds ? round(percentile(times, 50) / (single as CaseRun).totalSeconds, 3) : undefined,
        launchSpreadSeconds: launches.length ? round((Math.max(...launches) - Math.min(...launches)) / 1000, 2) : 0,
        wallClockSeconds: seen.ups.length ? round((Math.max(...seen.ups.map((u) => u.endedAt)) - Math.min(...seen.ups.map((u) => u.calledAt))) / 1000, 2) : 0,
        memberConfig: { ...MEMBER_CONFIG },
        driverReport,
    };
}

/** Runs the driver's runFleet over `hosts` with `action`; its per-stack lines go to `log`. */
async function throughDriver(
    provider: RunnerStackProvider,
    hosts: readonly string[],
    env: Environment,
    action: "up" | "destroy",
    log: (line: string) => void,
): Promise<FleetResult[]> {
    const fileName = `bench-fleet-${hosts[0]}.json`;
    const members = parseFleet(fleetFileText(hosts, env), fileName);
    const envFile = `Pulumi.${env}.yaml`;
    const envConfig = readStackFileConfig(fs.readFileSync(path.join(PROJECT_DIR, envFile), "utf8"), envFile);
    const configs = new Map(members.map((m) => [m.stackName, fleetStackConfig(envConfig, m)]));
    return runFleet(members, configs, action, CONCURRENCY_CAP, driverDeps(provider, log));
}

function driverDeps(provider: RunnerStackProvider, out: (line: string) => void): DriverDeps {
    return {
        repoRoot: PROJECT_DIR,
        stacks: provider,
        readFile: (file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined),
        env: process.env,
        out,
        stream: () => undefined,
        concurrencyCap: CONCURRENCY_CAP,
    };
}

/** `npm run local -- --down HOST`; never throws (cleanup). */
async function downHost(host: string, onOutput: (text: string) => void): Promise<void> {
    try {
        await startRunner(["--down", host], { onOutput }).exited;
    } catch (err) {
        onOutput(`could not bring ${host} down: ${(err as Error).message}\n`);
    }
}

/** The fleet's hosts a killed run left (running, half-made, or only the runner's keys). */
export async function leftoverFleetHosts(): Promise<string[]> {
    const names = new Set([...(await hostNames()), ...knownHosts()]);
    return [...names].filter((n) => new RegExp(`^${FLEET_HOST_PREFIX}\\d+$`).test(n)).sort();
}

/**
 * Deploys `hosts` at once through the driver (up), then brings them down through it
 * (destroy), with a cleanup registered for an interruption. Returns their case runs, in
 * host order, and what the provider saw.
 */
async function deployGroup(
    ctx: CaseContext,
    run: number,
    hosts: readonly string[],
    env: Environment,
    caseName: "fleet" | "fleet-single",
): Promise<{ runs: CaseRun[]; provider: RunnerStackProvider; report: string[] }> {
    const streams = new Map(hosts.map((h) => [h, logStream(ctx, h)]));
    const driverLog = logStream(ctx, `${caseName}-run${run}-driver`);
    const write = (stackName: string, text: string): void => {
        const host = stackName.slice(env.length + 1);
        (streams.get(host) ?? driverLog).write(text);
    };
    const deps: RunnerStackDeps = machineDeps(write);
    const provider = new RunnerStackProvider(deps);
    for (const h of hosts) ctx.cleanups.set(h, () => downHost(h, (t) => write(`${env}-${h}`, t)));
    const report: string[] = [];
    try {
        const results = await throughDriver(provider, hosts, env, "up", (line) => driverLog.write(`${line}\n`));
        // The driver's own summary: succeeded/failed and the stage percentiles across the members.
        reportFleet(results, "up", { out: (line) => report.push(line) });
        driverLog.write(`${report.join("\n")}\n`);
        const runs = hosts.map((h) => {
            const stackName = `${env}-${h}`;
            const up = provider.ups.find((u) => u.host === h);
            const r = memberRun(
                run,
                h,
                results.find((x) => x.stackName === stackName),
                up,
            );
            if (up?.record) writeCaseTimeline(ctx, h, up.record);
            return r;
        });
        return { runs, provider, report };
    } finally {
        const down = await throughDriver(new RunnerStackProvider(deps), hosts, env, "destroy", (line) => driverLog.write(`${line}\n`));
        for (const d of down.filter((x) => !x.ok)) ctx.say(`  could not bring ${d.stackName} down: ${d.error}`);
        for (const h of await leftoverFleetHosts()) if (hosts.includes(h)) await downHost(h, (t) => write(`${env}-${h}`, t));
        for (const h of hosts) ctx.cleanups.delete(h);
        await Promise.all([...streams.values(), driverLog].map(closeStream));
    }
}

/**
 * One repetition: bench-fl0 alone, then bench-fl1..N at once, each through the driver.
 * Network: unshaped (every host fetches through the one shared apt-cacher-ng at memory
 * speed), so the fleet contends for this machine's CPU, disk and dpkg, not for a link.
 */
export async function runFleetCase(
    ctx: CaseContext,
    run: number,
    size: number,
    stack: string,
): Promise<{ single: CaseRun; members: CaseRun[]; summary: FleetSummary }> {
    const env = fleetEnv(stack);
    for (const h of await leftoverFleetHosts()) {
        ctx.say(`  ${h}: left by an earlier run, brought down first`);
        await downHost(h, () => undefined);
    }
    ctx.say(`  fleet: ${fleetHostName(0)} alone, through the deploy driver (stack ${env}-${fleetHostName(0)})`);
    const alone = await deployGroup(ctx, run, [fleetHostName(0)], env, "fleet-single");
    const single = alone.runs[0];
    const hosts = Array.from({ length: size }, (_, i) => fleetHostName(i + 1));
    ctx.say(`  fleet: ${hosts.join(", ")} at once, through the deploy driver (cap ${CONCURRENCY_CAP})`);
    const fleet = await deployGroup(ctx, run, hosts, env, "fleet");
    const summary = fleetSummary(
        run,
        fleet.runs,
        single,
        { concurrencyCap: CONCURRENCY_CAP, peakInFlight: fleet.provider.peakInFlight, ups: fleet.provider.ups },
        fleet.report,
    );
    return { single, members: fleet.runs, summary };
}
