// Runs a Pulumi program under the mock runtime, as the engine would run `pulumi up`:
// config in place, mocks installed, the program imported, its exports resolved.
// One program per process: the Pulumi runtime keeps its state in globals.

import * as pulumi from "@pulumi/pulumi";
import { MockCloud } from "./mockCloud";
import { Resolved, resolveExports } from "./outputs";

export interface ProgramOptions {
    /** Absolute path of the program (index.ts). */
    programPath: string;
    project: string;
    stack: string;
    /** Fully qualified key to string, as in PULUMI_CONFIG. */
    config: Record<string, string>;
    secretKeys: string[];
    cloud: MockCloud;
}

export interface ProgramResult {
    ok: boolean;
    /** Why the run failed: the program threw, or resources failed. */
    error?: string;
    outputs: Record<string, Resolved>;
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getAdditionalsecretoutputsList(): string[];
    getCustomtimeouts(): { getCreate(): string } | undefined;
}

/**
 * The mock monitor drops a registration's additionalSecretOutputs (tls private keys,
 * random passwords, remote.Command connections, stages that ask for secret stdout),
 * which the engine would mark secret, and its customTimeouts, which pulumi-command turns
 * into the deadline of its SSH dialing. Hand them to the mocks before each registration.
 */
function forwardSecretOutputs(cloud: MockCloud): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): unknown };
    const monitor = settings.getMonitor() as { registerResource(req: RegisterRequest, cb: unknown): unknown };
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: RegisterRequest, cb: unknown) => {
        cloud.noteSecretOutputs(req.getType(), req.getName(), req.getAdditionalsecretoutputsList());
        cloud.noteCreateTimeout(req.getType(), req.getName(), req.getCustomtimeouts()?.getCreate() ?? "");
        return original(req, cb);
    };
}

/**
 * Runs the program to completion. Resolves when every export is resolved and no mock
 * is running, or, after a resource failed, when everything still in flight settled
 * (the engine lets running steps finish and starts nothing that depends on a failure).
 */
export async function runProgram(opts: ProgramOptions): Promise<ProgramResult> {
    process.env.PULUMI_CONFIG = JSON.stringify(opts.config);
    process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(opts.secretKeys);
    pulumi.runtime.setAllConfig(opts.config, opts.secretKeys);
    await pulumi.runtime.setMocks(opts.cloud, opts.project, opts.stack, false);
    forwardSecretOutputs(opts.cloud);

    // Failed registrations surface as rejected outputs, sometimes with nobody awaiting them.
    const stray: string[] = [];
    const onRejection = (reason: unknown): void => {
        stray.push(reason instanceof Error ? reason.message : String(reason));
    };
    process.on("unhandledRejection", onRejection);
    try {
        let mod: Record<string, unknown>;
        try {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            mod = require(opts.programPath) as Record<string, unknown>;
        } catch (err) {
            return { ok: false, error: `the program threw while running: ${(err as Error).message}`, outputs: {} };
        }

        let stop: () => void = () => undefined;
        const failedAndSettled = new Promise<"failed">((resolve) => {
            const timer = setInterval(() => {
                if (opts.cloud.failures.length > 0 && opts.cloud.busy === 0) {
                    clearInterval(timer);
                    resolve("failed");
                }
            }, 200);
            stop = () => clearInterval(timer);
        });
        let outputs: Record<string, Resolved> = {};
        let exportError: string | undefined;
        const resolved = resolveExports(mod).then(
            (o) => {
                outputs = o;
                return "resolved" as const;
            },
            (err: Error) => {
                exportError = err.message;
                return "rejected" as const;
            },
        );
        const first = await Promise.race([resolved, failedAndSettled]);
        stop();
        await opts.cloud.idle();
        if (first === "resolved" && opts.cloud.failures.length === 0) {
            return { ok: true, outputs };
        }
        const failures = opts.cloud.failures.map((f) => `${f.name} (${f.type}): ${f.error}`);
        const reasons = failures.length ? failures : [exportError ?? stray[0] ?? "unknown error"];
        return { ok: false, error: `${reasons.length} resource(s) failed:\n${reasons.join("\n")}`, outputs };
    } finally {
        process.off("unhandledRejection", onRejection);
    }
}
