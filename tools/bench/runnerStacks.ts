// The deploy driver's StackProvider (tools/deploy/stacks.ts) backed by the local runner:
// stack `<env>-<name>` is test host <name> provisioned by `npm run local -- --name <name>
// --stack <env> [--set KEY=VALUE ...]`, and its outputs are what the runner wrote in the
// host's run record. With it the driver's own fleet code (runFleet: the concurrency cap, one
// failure never stopping the rest; reportFleet: the percentiles) deploys real workstations
// on the local target, as it deploys Pulumi stacks in the cloud (the bench's fleet case).

import * as fs from "fs";
import * as path from "path";
import type { RunRecord } from "../local/programRun";
import { HOST_NAME_PATTERN } from "../local/cli";
import { HostState } from "../local/runnerState";
import { decodeResolved, toPlain } from "../local/outputs";
import { startRunner } from "../shared/runnerProcess";
import { encodeConfigValue, loadStackConfig } from "../shared/stackConfig";
import { ENVIRONMENTS, Environment, isEnvironment } from "../deploy/args";
import { PROJECT_NAMESPACE } from "../deploy/fleet";
import { serialized } from "../deploy/limits";
import type { DestroyOutcome, OperationOptions, PreviewOutcome, StackConfigValue, StackHandle, StackProvider, UpOutcome } from "../deploy/stacks";
import { testhostStateDir } from "./link";
import { PROJECT_DIR } from "./target";

/** What the provider needs from the machine; the tests give fakes. */
export interface RunnerStackDeps {
    /** Starts `npm run local -- ARGS` for stack `stackName`; `exited` resolves with its exit code. */
    start(args: string[], stackName: string): { exited: Promise<number> };
    /** The run record the runner keeps for host `host`, if any. */
    readRun(host: string): RunRecord | undefined;
    /** Resolves once the runner's host `host` holds its index (its veth exists), so that the next runner picks another. */
    reserved(host: string, exited: Promise<number>): Promise<void>;
    /** The stack file's config as the runner reads it (Pulumi.yaml defaults, then Pulumi.<env>.yaml), encoded. */
    baseConfig(env: Environment): Record<string, string>;
    now(): number;
}

/** One `up` as the provider saw it (epoch ms). */
export interface RunnerUp {
    stackName: string;
    host: string;
    /** When the driver called up (the start of the member's time to ready). */
    calledAt: number;
    /** When its runner was started (after the launch gate). */
    launchedAt: number;
    endedAt: number;
    code: number;
    /** The run record of this up; undefined when the runner wrote none. */
    record?: RunRecord;
}

/** `<env>-<name>` (tools/deploy/fleet.ts stackNameFor) → the env's stack file and the test host's name. */
export function parseStackName(stackName: string): { env: Environment; host: string } {
    const m = /^([a-z]+)-(.+)$/.exec(stackName);
    if (!m || !isEnvironment(m[1])) {
        throw new Error(`stack ${JSON.stringify(stackName)}: the local target runs fleet stacks named <env>-<name> with env one of ${ENVIRONMENTS.join(", ")}`);
    }
    if (!HOST_NAME_PATTERN.test(m[2])) {
        throw new Error(
            `stack ${JSON.stringify(stackName)}: name ${JSON.stringify(m[2])} cannot name a test host (1 to 10 characters of a-z, 0-9 and '-', starting with a letter or digit)`,
        );
    }
    return { env: m[1], host: m[2] };
}

const HOME_VOLUME_KEY = `${PROJECT_NAMESPACE}:homeVolumeGb`;

/**
 * The runner's `--set` flags that make the stack's config `config` (what the driver's
 * replaceConfig gave) on top of `base` (the stack file as the runner reads it): one per key
 * whose value differs, so the command line shows what the member adds. Only `workstation:*`
 * keys can be set (the runner's --set); a home volume is refused: the runner keeps volumes
 * per stack file (.local-target/volumes/<env>), so members of one env would share one volume,
 * which attaches to one host only (on DigitalOcean each fleet stack has its own).
 */
export function runnerSetArgs(stackName: string, config: Record<string, StackConfigValue>, base: Record<string, string>): string[] {
    const args: string[] = [];
    for (const [key, value] of Object.entries(config)) {
        const text = encodeConfigValue(value);
        if (base[key] === text) continue;
        if (!key.startsWith(`${PROJECT_NAMESPACE}:`)) {
            throw new Error(
                `stack ${stackName}: config ${key} = ${JSON.stringify(text)}: the local runner sets ${PROJECT_NAMESPACE}:* keys only (npm run local -- --set KEY=VALUE)`,
            );
        }
        args.push("--set", `${key.slice(PROJECT_NAMESPACE.length + 1)}=${text}`);
    }
    const volume = HOME_VOLUME_KEY in config ? encodeConfigValue(config[HOME_VOLUME_KEY]) : base[HOME_VOLUME_KEY];
    if (volume !== undefined && volume !== "0") {
        throw new Error(
            `stack ${stackName}: ${HOME_VOLUME_KEY} is ${volume}: on the local target the runner keeps volumes per stack file, so fleet members of one env would share one volume; give each member homeVolumeGb: 0`,
        );
    }
    return args;
}

/** The first line of a runner's error, with the stages that failed. */
function runnerFailure(stackName: string, code: number, rec: RunRecord): string {
    const failed = rec.stages.filter((s) => !s.ok).map((s) => s.stage);
    return `stack ${stackName}: runner exit ${code}${failed.length ? `, failed: ${failed.join(", ")}` : ""}: ${(rec.error ?? "no error recorded").split("\n")[0]}`;
}

/**
 * An `up`'s outcome as the driver reads it: the stack outputs, secrets revealed (as
 * `pulumi stack output --show-secrets`). A failed run, or no record from this run, is an
 * error naming the stack, as a failed `pulumi up` is.
 */
export function upOutcome(up: Pick<RunnerUp, "stackName" | "code" | "launchedAt" | "record">): UpOutcome {
    const rec = up.record;
    if (!rec || rec.startedAt < up.launchedAt) throw new Error(`stack ${up.stackName}: runner exit ${up.code} without a run record of this run`);
    if (up.code !== 0 || !rec.ok) throw new Error(runnerFailure(up.stackName, up.code, rec));
    const outputs = toPlain(decodeResolved(rec.outputs), true);
    return { outputs: outputs !== null && typeof outputs === "object" && !Array.isArray(outputs) ? (outputs as Record<string, unknown>) : {} };
}

export class RunnerStackProvider implements StackProvider {
    /** Every up, in the order they ended. */
    readonly ups: RunnerUp[] = [];
    private inFlight = 0;
    private peak = 0;
    private readonly configs = new Map<string, Record<string, StackConfigValue>>();
    /** One runner launch at a time, until its host holds its index (see RunnerStackDeps.reserved). */
    private readonly launch = serialized();

    constructor(private readonly deps: RunnerStackDeps = machineDeps()) {}

    /** The most ups in flight at once so far. */
    get peakInFlight(): number {
        return this.peak;
    }

    async createOrSelect(stackName: string): Promise<StackHandle> {
        const { env, host } = parseStackName(stackName);
        const { deps, configs } = this;
        const configOf = (): Record<string, StackConfigValue> => this.configs.get(stackName) ?? {};
        return {
            name: stackName,
            async replaceConfig(config: Record<string, StackConfigValue>): Promise<void> {
                runnerSetArgs(stackName, config, deps.baseConfig(env)); // refused now, before anything runs
                configs.set(stackName, { ...config });
            },
            async setConfigValue(key: string, value: string): Promise<void> {
                configs.set(stackName, { ...configOf(), [key]: value });
            },
            async outputs(): Promise<Record<string, unknown>> {
                const rec = deps.readRun(host);
                const plain = rec ? toPlain(decodeResolved(rec.outputs), true) : {};
                return plain !== null && typeof plain === "object" && !Array.isArray(plain) ? (plain as Record<string, unknown>) : {};
            },
            async preview(_options: OperationOptions): Promise<PreviewOutcome> {
                throw new Error(`stack ${stackName}: the local target has no preview (the runner runs the program for real)`);
            },
            up: (_options: OperationOptions): Promise<UpOutcome> => this.up(stackName, env, host, configOf()),
            destroy: (_options: OperationOptions): Promise<DestroyOutcome> => this.destroy(stackName, host),
        };
    }

    private async up(stackName: string, env: Environment, host: string, config: Record<string, StackConfigValue>): Promise<UpOutcome> {
        const calledAt = this.deps.now();
        const args = ["--name", host, "--stack", env, ...runnerSetArgs(stackName, config, this.deps.baseConfig(env))];
        this.inFlight++;
        this.peak = Math.max(this.peak, this.inFlight);
        try {
            let launchedAt = calledAt;
            // The gate returns the runner wrapped: returning its promise itself would hold the gate until it exits.
            const runner = await this.launch(async () => {
                launchedAt = this.deps.now();
                const started = this.deps.start(args, stackName);
                await this.deps.reserved(host, started.exited);
                return started;
            });
            const code = await runner.exited;
            const up: RunnerUp = { stackName, host, calledAt, launchedAt, endedAt: this.deps.now(), code, record: this.deps.readRun(host) };
            this.ups.push(up);
            return upOutcome(up);
        } finally {
            this.inFlight--;
        }
    }

    /** `npm run local -- --down HOST`: the host stopped, its keys forgotten (no volume: see runnerSetArgs). */
    private async destroy(stackName: string, host: string): Promise<DestroyOutcome> {
        const code = await this.deps.start(["--down", host], stackName).exited;
        if (code !== 0) throw new Error(`stack ${stackName}: npm run local -- --down ${host} exited ${code}`);
        return {};
    }
}

/** The index file and veth of host `name` exist: no other runner can take its index now. */
export function hostIndexReserved(name: string, stateDir = testhostStateDir()): boolean {
    try {
        const index = fs.readFileSync(path.join(stateDir, "hosts", name, "index"), "utf8").trim();
        return /^\d+$/.test(index) && fs.existsSync(`/sys/class/net/wsth${index}`);
    } catch {
        return false;
    }
}

/** How long a launch may hold the gate: a runner that never reserves an index does not stop the rest for good. */
const RESERVE_TIMEOUT_MS = 180_000;

/** The real machine: runner child processes (their output to `log`), run records, stack files. */
export function machineDeps(log: (stackName: string, text: string) => void = () => undefined): RunnerStackDeps {
    return {
        start: (args, stackName) => {
            const { exited } = startRunner(args, { onOutput: (text) => log(stackName, text) });
            return { exited: exited.then(({ code, signal }) => code ?? (signal ? 128 : 1)) };
        },
        readRun: (host) => new HostState(host).readRun<RunRecord>(),
        reserved: async (host, exited) => {
            let done = false;
            void exited.then(
                () => (done = true),
                () => (done = true),
            );
            const deadline = Date.now() + RESERVE_TIMEOUT_MS;
            while (!done && Date.now() < deadline && !hostIndexReserved(host)) await new Promise((r) => setTimeout(r, 200));
        },
        baseConfig: (env) => loadStackConfig(PROJECT_DIR, env).values,
        now: () => Date.now(),
    };
}
