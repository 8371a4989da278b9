// A fake StackProvider that records every call, and helpers to control when operations finish.
import * as path from "path";
import type { DriverDeps } from "../../tools/deploy/driver";
import type { DestroyOutcome, OperationOptions, PreviewOutcome, StackHandle, StackProvider, UpOutcome } from "../../tools/deploy/stacks";
import { Project, StoredConfigValue, readRepoProject, validateStackConfig } from "./cliConfig";

export interface Deferred<T> {
    promise: Promise<T>;
    resolve(value: T): void;
    reject(reason: unknown): void;
}

export function deferred<T>(): Deferred<T> {
    let resolve!: (value: T) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
    });
    return { promise, resolve, reject };
}

/** Lets pending promise callbacks run: one macrotask turn at a time, up to `turns`, until `done()`. */
export async function settle(done: () => boolean = () => false, turns = 200): Promise<void> {
    for (let i = 0; i < turns && !done(); i++) await new Promise<void>((r) => setImmediate(r));
}

export interface Call {
    stack: string;
    op: "createOrSelect" | "replaceConfig" | "setConfigValue" | "outputs" | "preview" | "up" | "destroy";
    /** What the driver asked to store: strings are plain values, anything else an object value. */
    config?: Record<string, unknown>;
    options?: OperationOptions;
}

/**
 * A fake backend of stacks. Like the CLI it keeps each stack's config as stored values
 * (plain strings, or objects for lists and mappings) and, before a preview or an up,
 * checks them against the types the project (by default the repo's Pulumi.yaml) declares,
 * refusing with the CLI's message.
 */
export class FakeStacks implements StackProvider {
    readonly calls: Call[] = [];
    /** Each stack's config as the CLI would have stored it. */
    readonly stored = new Map<string, Record<string, StoredConfigValue>>();
    /** What `up` does for a stack; by default it returns outputs with the given timings. */
    up: (stack: string, options: OperationOptions) => Promise<UpOutcome> = async () => ({ outputs: {} });
    /** Each stack's current outputs (what `pulumi stack output` shows); none by default. */
    readonly outputsOf = new Map<string, Record<string, unknown>>();

    constructor(private readonly project: Project = readRepoProject()) {}

    async createOrSelect(stackName: string): Promise<StackHandle> {
        this.calls.push({ stack: stackName, op: "createOrSelect" });
        const calls = this.calls;
        // eslint-disable-next-line @typescript-eslint/no-this-alias
        const provider = this;
        const validate = (): void => validateStackConfig(stackName, this.project, this.stored.get(stackName) ?? {});
        return {
            name: stackName,
            async replaceConfig(config: Record<string, unknown>): Promise<void> {
                calls.push({ stack: stackName, op: "replaceConfig", config });
                provider.stored.set(
                    stackName,
                    Object.fromEntries(
                        Object.entries(config).map(([key, value]) => [
                            key,
                            typeof value === "string" ? { value, object: false, secret: false } : { value: JSON.stringify(value), object: true, secret: false },
                        ]),
                    ),
                );
            },
            async setConfigValue(key: string, value: string): Promise<void> {
                calls.push({ stack: stackName, op: "setConfigValue", config: { [key]: value } });
                provider.stored.set(stackName, { ...(provider.stored.get(stackName) ?? {}), [key]: { value, object: false, secret: false } });
            },
            async outputs(): Promise<Record<string, unknown>> {
                calls.push({ stack: stackName, op: "outputs" });
                return provider.outputsOf.get(stackName) ?? {};
            },
            async preview(options: OperationOptions): Promise<PreviewOutcome> {
                calls.push({ stack: stackName, op: "preview", options });
                validate();
                return { changeSummary: { create: 12 } };
            },
            async up(options: OperationOptions): Promise<UpOutcome> {
                calls.push({ stack: stackName, op: "up", options });
                validate();
                return provider.up(stackName, options);
            },
            async destroy(options: OperationOptions): Promise<DestroyOutcome> {
                calls.push({ stack: stackName, op: "destroy", options });
                return { resourceChanges: { delete: 12 } };
            },
        };
    }

    ops(op: Call["op"]): Call[] {
        return this.calls.filter((c) => c.op === op);
    }
}

export const ROOT = "/repo";

export const DEV_STACK_FILE = `config:
  workstation:region: nyc3
  workstation:size: s-2vcpu-4gb
  workstation:ides:
    - vscode
    - cursor
`;

/** Deps over an in-memory repository; `files` are relative to ROOT. */
export function fakeDeps(
    stacks: FakeStacks,
    files: Record<string, string> = {},
    env: Record<string, string> = {},
): DriverDeps & { lines: string[]; streamed: string[] } {
    const all: Record<string, string> = {
        "Pulumi.yaml": "name: workstation\nruntime: nodejs\n",
        "policies/PulumiPolicy.yaml": "runtime: nodejs\n",
        "Pulumi.dev.yaml": DEV_STACK_FILE,
        "Pulumi.staging.yaml": "config:\n  workstation:region: ams3\n",
        "Pulumi.prod.yaml": "config:\n  workstation:region: fra1\n",
        ...files,
    };
    const lines: string[] = [];
    const streamed: string[] = [];
    return {
        repoRoot: ROOT,
        stacks,
        readFile: (file) => {
            const rel = path.relative(ROOT, file);
            return Object.prototype.hasOwnProperty.call(all, rel) && all[rel] !== "<absent>" ? all[rel] : undefined;
        },
        env: { DIGITALOCEAN_TOKEN: "dop_v1_fake", ...env },
        out: (line) => lines.push(line),
        stream: (text) => streamed.push(text),
        lines,
        streamed,
    };
}

/** A `timings` output shaped like components/timing.ts `summarize`. */
export function timingsOutput(stages: Record<string, number>, wallClockSeconds: number): unknown {
    return {
        stages: Object.fromEntries(Object.entries(stages).map(([s, seconds]) => [s, { seconds, status: "ok", start: 0, end: seconds }])),
        wallClockSeconds,
        sequentialSeconds: Object.values(stages).reduce((a, b) => a + b, 0),
        parallelSavingsSeconds: 0,
        parallelSavingsPercent: 0,
        criticalPath: { stages: Object.keys(stages), seconds: wallClockSeconds },
    };
}
