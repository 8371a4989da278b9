// The deploy driver's logic: check the input, run one stack or a fleet, report. Everything
// outside the process (files, environment, Pulumi) comes in through DriverDeps, so the tests
// drive it with a fake StackProvider.
import * as path from "path";
import type { EngineEvent, OpMap } from "@pulumi/pulumi/automation";
import { USAGE_EXIT_CODE } from "../shared/cli";
import { Action, DeployArgs, ENVIRONMENTS, Environment, USAGE, UsageError, parseArgs } from "./args";
import { IdleHosts, decide, parseActivity, targetFromOutputs, warningMessage } from "./idle";
import { FleetMember, RUNNING_CONFIG_KEY, fleetStackConfig, parseFleet, readStackFileConfig } from "./fleet";
import { CONCURRENCY_CAP, hourlyBudgetWarning, runPool, serialized } from "./limits";
import { OperationOptions, StackConfigValue, StackHandle, StackProvider } from "./stacks";
import { TimingReport, fleetPercentiles, formatPercentileTable, formatTimingTable, parseTimings } from "./timingReport";

export interface DriverDeps {
    /** The project directory: holds Pulumi.yaml, the Pulumi.<env>.yaml files and policies/. */
    repoRoot: string;
    stacks: StackProvider;
    /** The file's text, or undefined when it does not exist. */
    readFile(file: string): string | undefined;
    env: Readonly<Record<string, string | undefined>>;
    /** One line of the driver's own output. */
    out(line: string): void;
    /** Raw progress text from the engine (single-stack runs). */
    stream(text: string): void;
    /** Defaults to the cap derived from DigitalOcean's limits. */
    concurrencyCap?: number;
    /** The hosts' activity over SSH, for stop-idle. */
    idleHosts?: IdleHosts;
}

export const POLICY_PACK_DIR = "policies";

/** One fleet deployment's outcome. */
export interface FleetResult {
    stackName: string;
    ok: boolean;
    error?: string;
    timings?: TimingReport;
}

/** Runs the driver; returns the process exit code (0 ok, 1 a deployment failed, 2 bad input). */
export async function main(argv: readonly string[], deps: DriverDeps): Promise<number> {
    const cap = deps.concurrencyCap ?? CONCURRENCY_CAP;
    let args: DeployArgs;
    let plan: () => Promise<number>;
    try {
        args = parseArgs(argv, cap);
        if (args.kind === "help") {
            deps.out(USAGE);
            return 0;
        }
        plan =
            args.kind === "single"
                ? prepareSingle(args.env, args.action, deps)
                : args.kind === "stop-idle"
                  ? prepareStopIdle(args, deps)
                  : prepareFleet(args, cap, deps);
    } catch (err) {
        if (err instanceof UsageError) {
            deps.out(`error: ${err.message}`);
            return USAGE_EXIT_CODE;
        }
        throw err;
    }
    try {
        return await plan();
    } catch (err) {
        deps.out(`error: ${errorText(err)}`);
        return 1;
    }
}

/** Checks shared by both modes; throws UsageError naming what is missing. */
function preflight(action: Action, envs: readonly Environment[], deps: DriverDeps): Map<Environment, string> {
    if (deps.readFile(path.join(deps.repoRoot, "Pulumi.yaml")) === undefined) {
        throw new UsageError(`no Pulumi.yaml in ${deps.repoRoot}: the workspace must be the project directory`);
    }
    if (action !== "destroy" && deps.readFile(path.join(deps.repoRoot, POLICY_PACK_DIR, "PulumiPolicy.yaml")) === undefined) {
        throw new UsageError(`no ${POLICY_PACK_DIR}/PulumiPolicy.yaml in ${deps.repoRoot}: ${action} runs with the policy pack`);
    }
    const stackFiles = new Map<Environment, string>();
    for (const env of envs) {
        const file = `Pulumi.${env}.yaml`;
        const text = deps.readFile(path.join(deps.repoRoot, file));
        if (text === undefined) throw new UsageError(`env ${env}: no ${file} in ${deps.repoRoot}: every env needs its stack file`);
        stackFiles.set(env, text);
    }
    if (!deps.env.DIGITALOCEAN_TOKEN) {
        throw new UsageError("DIGITALOCEAN_TOKEN is not set: export a DigitalOcean API token (read and write) before deploying");
    }
    return stackFiles;
}

function operationOptions(action: Action, deps: DriverDeps, handlers: Pick<OperationOptions, "onOutput" | "onEvent">): OperationOptions {
    return {
        policyPacks: action === "destroy" ? [] : [path.join(deps.repoRoot, POLICY_PACK_DIR)],
        ...handlers,
    };
}

async function runAction(
    stack: StackHandle,
    action: Action,
    options: OperationOptions,
): Promise<{ changes?: OpMap; timings?: TimingReport; lifecycle?: string }> {
    switch (action) {
        case "preview":
            return { changes: (await stack.preview(options)).changeSummary };
        case "destroy":
            return { changes: (await stack.destroy(options)).resourceChanges };
        case "up": {
            const result = await stack.up(options);
            return { changes: result.resourceChanges, timings: parseTimings(result.outputs.timings), lifecycle: describeLifecycle(result.outputs.lifecycle) };
        }
    }
}

function prepareSingle(env: Environment, action: Action, deps: DriverDeps): () => Promise<number> {
    preflight(action, [env], deps);
    return async () => {
        // The stack is named after the env, so the CLI reads Pulumi.<env>.yaml itself: nothing to set.
        const stack = await deps.stacks.createOrSelect(env);
        deps.out(`${action} ${stack.name} (policy pack: ${action === "destroy" ? "none" : POLICY_PACK_DIR})`);
        const result = await runAction(stack, action, operationOptions(action, deps, { onOutput: deps.stream }));
        deps.out(`${stack.name}: ${action} done; changes: ${formatChanges(result.changes)}`);
        if (result.lifecycle) deps.out(`${stack.name}: ${result.lifecycle}`);
        if (result.timings) deps.out(formatTimingTable(result.timings));
        return 0;
    };
}

function prepareFleet(args: Extract<DeployArgs, { kind: "fleet" }>, cap: number, deps: DriverDeps): () => Promise<number> {
    const fleetPath = path.resolve(deps.repoRoot, args.fleetFile);
    const text = deps.readFile(fleetPath);
    if (text === undefined) throw new UsageError(`--fleet ${args.fleetFile}: no such file (${fleetPath})`);
    const members = parseFleet(text, args.fleetFile);
    const envs = [...new Set(members.map((m) => m.env))];
    const stackFiles = preflight(args.action, envs, deps);
    const envConfigs = new Map<Environment, Record<string, unknown>>();
    for (const [env, fileText] of stackFiles) envConfigs.set(env, readStackFileConfig(fileText, `Pulumi.${env}.yaml`));
    const configs = new Map(members.map((m) => [m.stackName, fleetStackConfig(envConfigs.get(m.env) ?? {}, m)]));
    const concurrency = args.concurrency ?? cap;

    return async () => {
        deps.out(`${args.action} ${members.length} stack(s), at most ${concurrency} at once`);
        const warning = hourlyBudgetWarning(members.length);
        if (warning) deps.out(`warning: ${warning}`);
        const results = await runFleet(members, configs, args.action, concurrency, deps);
        return reportFleet(results, args.action, deps);
    };
}

/** One stack for stop-idle: its name and its idle limit in minutes (0: never). */
export interface IdleCandidate {
    stackName: string;
    limitMinutes: number;
    /**
     * A fleet stack's whole config (its env file under its entry, as a fleet deploy sets
     * it): the stop sets it with running false, so that the stop's `up` runs with the
     * stack's own config also where the CLI's local copy of it is gone (a CI checkout).
     * Absent for an env stack, whose config is its Pulumi.<env>.yaml.
     */
    config?: Record<string, StackConfigValue>;
}

const IDLE_KEY = "workstation:idleStopMinutes";
const RUNNING_KEY = RUNNING_CONFIG_KEY;

/** A stack config's idleStopMinutes (Pulumi.yaml's default, 0, when unset); refuses anything but a whole number. */
function idleLimit(config: Record<string, unknown>, where: string): number {
    const raw = config[IDLE_KEY] ?? config.idleStopMinutes;
    if (raw === undefined) return 0;
    const text = String(raw);
    if (!/^\d+$/.test(text)) throw new UsageError(`${where}: idleStopMinutes ${JSON.stringify(raw)} is not a whole number of minutes (0 turns idle stop off)`);
    return Number(text);
}

function prepareStopIdle(args: Extract<DeployArgs, { kind: "stop-idle" }>, deps: DriverDeps): () => Promise<number> {
    const idleHosts = deps.idleHosts;
    if (!idleHosts) throw new Error("stop-idle needs a way to reach the hosts (DriverDeps.idleHosts)");
    let candidates: IdleCandidate[];
    const envConfig = (env: string): Record<string, unknown> | undefined => {
        const file = `Pulumi.${env}.yaml`;
        const text = deps.readFile(path.join(deps.repoRoot, file));
        return text === undefined ? undefined : readStackFileConfig(text, file);
    };
    if (args.fleetFile !== undefined) {
        const fleetPath = path.resolve(deps.repoRoot, args.fleetFile);
        const text = deps.readFile(fleetPath);
        if (text === undefined) throw new UsageError(`--fleet ${args.fleetFile}: no such file (${fleetPath})`);
        const members = parseFleet(text, args.fleetFile);
        preflight("up", [...new Set(members.map((m) => m.env))], deps);
        candidates = members.map((m) => {
            const config = fleetStackConfig(envConfig(m.env) ?? {}, m);
            return { stackName: m.stackName, limitMinutes: idleLimit(config, `${args.fleetFile}: ${m.name}`), config };
        });
    } else if (args.stack !== undefined) {
        preflight("up", [], deps);
        candidates = [{ stackName: args.stack, limitMinutes: idleLimit(envConfig(args.stack) ?? {}, `Pulumi.${args.stack}.yaml`) }];
    } else {
        const envs = ENVIRONMENTS.filter((env) => envConfig(env) !== undefined);
        preflight("up", envs, deps);
        candidates = envs.map((env) => ({ stackName: env, limitMinutes: idleLimit(envConfig(env)!, `Pulumi.${env}.yaml`) }));
    }
    if (args.idleMinutes !== undefined) candidates = candidates.map((c) => ({ ...c, limitMinutes: args.idleMinutes! }));
    return async () => {
        const results = await stopIdle(candidates, idleHosts, deps);
        const count = (kind: IdleOutcome["kind"]): number => results.filter((r) => r.kind === kind).length;
        deps.out("");
        deps.out(
            `stop-idle: ${count("stopped")} stopped, ${count("warned")} warned, ${count("active")} active, ` +
                `${count("off")} without idle stop, ${count("stopped-already")} already stopped, ${count("unreachable")} unreachable, ${count("failed")} failed`,
        );
        return results.some((r) => r.kind === "unreachable" || r.kind === "failed") ? 1 : 0;
    };
}

/**
 * What keeps an env stack stopped: `workstation:running: false` is now in its
 * Pulumi.<stack>.yaml in this checkout, and the next deploy reads the file from the
 * repository. stop-idle.yml commits it; from a laptop, commit it yourself.
 */
export function keepStopNote(stackName: string): string {
    return (
        `Pulumi.${stackName}.yaml now has workstation:running: false: commit it (the stop-idle workflow does), ` +
        "or the next deploy of the repository starts the workstation again"
    );
}

export type IdleOutcome = { stackName: string; kind: "stopped" | "warned" | "active" | "off" | "stopped-already" | "unreachable" | "failed"; detail: string };

/**
 * For each stack: read its host's activity over SSH and stop it (running: false, then up)
 * when it is idle past its limit, warn a logged-in user first, leave an active one alone,
 * and report one it cannot read (unreachable, or a stale or broken record) without stopping it.
 */
export async function stopIdle(candidates: readonly IdleCandidate[], idleHosts: IdleHosts, deps: DriverDeps): Promise<IdleOutcome[]> {
    const results: IdleOutcome[] = [];
    for (const { stackName, limitMinutes, config } of candidates) {
        const report = (kind: IdleOutcome["kind"], detail: string): void => {
            results.push({ stackName, kind, detail });
            deps.out(`[${stackName}] ${kind}: ${detail}`);
        };
        if (limitMinutes === 0) {
            report("off", "idleStopMinutes is 0");
            continue;
        }
        let stack: StackHandle;
        let target;
        try {
            stack = await deps.stacks.createOrSelect(stackName);
            target = targetFromOutputs(await stack.outputs());
        } catch (err) {
            report("failed", errorText(err));
            continue;
        }
        if (!target) {
            report("stopped-already", "state is stopped");
            continue;
        }
        let decision;
        try {
            const { text, now } = await idleHosts.read(target);
            decision = decide(parseActivity(text), now, limitMinutes);
        } catch (err) {
            report("unreachable", `${target.user}@${target.host}: ${firstLine(errorText(err))}; not stopped`);
            continue;
        }
        try {
            switch (decision.kind) {
                case "off":
                    report("off", "idleStopMinutes is 0");
                    break;
                case "stale":
                    report("unreachable", `the activity record is ${decision.minutes} min old (the recorder is not running); not stopped`);
                    break;
                case "active":
                    report("active", `idle ${decision.idleMinutes} of ${limitMinutes} min`);
                    break;
                case "warn":
                    await idleHosts.warn(target, warningMessage(decision.idleMinutes, limitMinutes));
                    report(
                        "warned",
                        `idle ${decision.idleMinutes} of ${limitMinutes} min with someone logged in: warned on the host; stopped on a later run if nothing happens`,
                    );
                    break;
                case "stop": {
                    // The stop's own time: the program cannot export it (the engine deletes the
                    // droplet after the program has ended), so the driver measures the whole up.
                    const stopStarted = Date.now();
                    if (config) await stack.replaceConfig({ ...config, [RUNNING_KEY]: "false" });
                    else await stack.setConfigValue(RUNNING_KEY, "false");
                    const result = await stack.up(
                        operationOptions("up", deps, {
                            onEvent: (event) => {
                                const line = describeEvent(event);
                                if (line) deps.out(`[${stackName}] ${line}`);
                            },
                        }),
                    );
                    report(
                        "stopped",
                        `idle ${decision.idleMinutes} min (limit ${limitMinutes}): running false, up done in ${((Date.now() - stopStarted) / 1000).toFixed(1)} s (state ${String(result.outputs.state ?? "?")})`,
                    );
                    // An env stack's config is its file in the repository: the stop lasts only once committed.
                    if (!config) deps.out(`[${stackName}] ${keepStopNote(stackName)}`);
                    break;
                }
            }
        } catch (err) {
            report("failed", firstLine(errorText(err)));
        }
    }
    return results;
}

/** Deploys each member's stack, at most `concurrency` at once; one failure never stops the others. */
export async function runFleet(
    members: readonly FleetMember[],
    configs: ReadonlyMap<string, Record<string, StackConfigValue>>,
    action: Action,
    concurrency: number,
    deps: DriverDeps,
): Promise<FleetResult[]> {
    const setup = serialized();
    const settled = await runPool(members, concurrency, async (member) => {
        const stack = await setup(async () => {
            const opened = await deps.stacks.createOrSelect(member.stackName);
            if (action !== "destroy") {
                const config = configs.get(member.stackName) ?? {};
                // A stopped stack (stop-idle, or a stop by hand) stays stopped unless its entry
                // says running: the backend's outputs say so, whatever this checkout holds.
                const stopped = !(RUNNING_KEY in config) && (await opened.outputs()).state === "stopped";
                if (stopped) deps.out(`[${member.stackName}] is stopped and its entry does not set running: it stays stopped`);
                await opened.replaceConfig(stopped ? { ...config, [RUNNING_KEY]: "false" } : config);
            }
            return opened;
        });
        deps.out(`[${member.stackName}] ${action} started`);
        const onEvent = (event: EngineEvent): void => {
            const line = describeEvent(event);
            if (line) deps.out(`[${member.stackName}] ${line}`);
        };
        return runAction(stack, action, operationOptions(action, deps, { onEvent }));
    });
    return settled.map((outcome, i) => {
        const stackName = members[i].stackName;
        if (outcome.status === "rejected") {
            const error = errorText(outcome.reason);
            deps.out(`[${stackName}] failed: ${firstLine(error)}`);
            return { stackName, ok: false, error };
        }
        deps.out(`[${stackName}] ${action} done; changes: ${formatChanges(outcome.value.changes)}`);
        return { stackName, ok: true, timings: outcome.value.timings };
    });
}

/** The program's `lifecycle` output (components/workstation.ts) as one line; undefined when absent or not that shape. */
export function describeLifecycle(value: unknown): string | undefined {
    const l = value as { state?: unknown; action?: unknown; readySeconds?: unknown; monthlyCost?: unknown } | undefined;
    if (l?.state === "running" && typeof l.readySeconds === "number") {
        return `${l.action === "start" ? "started (a new droplet)" : "updated"}; ready ${l.readySeconds.toFixed(1)} s after the up began`;
    }
    if (l?.state === "stopped" && typeof l.monthlyCost === "number") return `stopped; costs $${l.monthlyCost.toFixed(2)} a month (the home volume)`;
    return undefined;
}

/** Percentiles across the successful deployments, then the failures; returns the exit code. */
export function reportFleet(results: readonly FleetResult[], action: Action, deps: Pick<DriverDeps, "out">): number {
    const ok = results.filter((r) => r.ok);
    const failed = results.filter((r) => !r.ok);
    deps.out("");
    deps.out(`fleet ${action}: ${ok.length} succeeded, ${failed.length} failed`);
    const timed = ok.map((r) => r.timings).filter((t): t is TimingReport => t !== undefined && t.stages.length > 0);
    if (timed.length) {
        deps.out(`stage seconds across ${timed.length} deployment(s), nearest-rank percentiles:`);
        deps.out(formatPercentileTable(fleetPercentiles(timed)));
    }
    if (failed.length) {
        deps.out("failures:");
        for (const f of failed) deps.out(`  ${f.stackName}: ${f.error}`);
    }
    return failed.length ? 1 : 0;
}

/** A short progress line for the events worth seeing when many stacks stream at once. */
export function describeEvent(event: EngineEvent): string | undefined {
    const outputs = event.resOutputsEvent;
    if (outputs && outputs.metadata.op !== "same" && !outputs.planning) {
        return `${outputs.metadata.op} ${resourceName(outputs.metadata.urn)} (${outputs.metadata.type})`;
    }
    const failed = event.resOpFailedEvent;
    if (failed) return `FAILED ${failed.metadata.op} ${resourceName(failed.metadata.urn)} (${failed.metadata.type})`;
    const diag = event.diagnosticEvent;
    if (diag && !diag.ephemeral && (diag.severity === "error" || diag.severity === "warning")) {
        return `${diag.severity}: ${diag.message.trim()}`;
    }
    const policy = event.policyEvent;
    if (policy) return `policy ${policy.policyName} (${policy.enforcementLevel}): ${policy.message.trim()}`;
    const summary = event.summaryEvent;
    if (summary) return `engine finished in ${summary.durationSeconds} s`;
    return undefined;
}

function resourceName(urn: string): string {
    const i = urn.lastIndexOf("::");
    return i === -1 ? urn : urn.slice(i + 2);
}

function formatChanges(changes: OpMap | undefined): string {
    if (!changes) return "-";
    const parts = Object.entries(changes)
        .filter(([, n]) => n)
        .map(([op, n]) => `${op} ${n}`);
    return parts.length ? parts.join(", ") : "none";
}

function errorText(err: unknown): string {
    if (err instanceof Error) return err.message;
    return String(err);
}

function firstLine(text: string): string {
    return (
        text
            .split("\n")
            .find((l) => l.trim() !== "")
            ?.trim() ?? text
    );
}
