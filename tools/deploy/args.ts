// Command-line parsing for `npm run deploy`. Pure: no file system, no Pulumi. Every error names
// the flag, the value it got and what is allowed, so a typo fails before any stack is touched.
import { FlagSpec, UsageError, parseFlags } from "../shared/cli";

export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export type Action = "up" | "preview" | "destroy";

export type DeployArgs =
    | { kind: "help" }
    | { kind: "single"; env: Environment; action: Action }
    | { kind: "fleet"; fleetFile: string; action: Action; concurrency?: number }
    | { kind: "stop-idle"; idleMinutes?: number; stack?: string; fleetFile?: string };

/** Bad input from the person running the driver: printed without a stack trace, exit code 2 (tools/shared/cli.ts). */
export { UsageError };

export const USAGE = `usage: npm run deploy -- (--env <${ENVIRONMENTS.join("|")}> | --fleet <file.json|file.yaml>) [--preview | --destroy] [--concurrency <n>]

  --env <name>        deploy the stack of that name, configured by Pulumi.<name>.yaml
  --fleet <file>      deploy one stack per workstation listed in the file (JSON or YAML list of
                      { name, env, config }), named <env>-<name>
  --preview           preview instead of up (nothing changes)
  --destroy           destroy the stack(s) instead of up
  --concurrency <n>   fleet only: at most n deployments at once (1 to the DigitalOcean-derived cap)
  --help              this text

       npm run deploy -- stop-idle [--idle-minutes <n>] [--stack <name> | --fleet <file>]

  stop-idle           read each stack's host activity over SSH (the stack's own key and pinned
                      host key) and stop (running: false, then up) each one idle longer than
                      its idleStopMinutes; a logged-in user is warned first, on the run before;
                      an unreachable host is reported, never stopped. Default: the env stacks
  --idle-minutes <n>  the idle limit for every stack, instead of each one's idleStopMinutes
  --stack <name>      only this stack
  --fleet <file>      the fleet's stacks`;

const DEPLOY_FLAGS = {
    env: { type: "string", valueHint: `one of ${ENVIRONMENTS.join(", ")}` },
    fleet: { type: "string", valueHint: "a .json, .yaml or .yml file" },
    concurrency: { type: "string", valueHint: "a whole number" },
    preview: { type: "boolean" },
    destroy: { type: "boolean" },
    help: { type: "boolean" },
} satisfies FlagSpec;

export function isEnvironment(value: string): value is Environment {
    return (ENVIRONMENTS as readonly string[]).includes(value);
}

/**
 * Parses the driver's arguments (process.argv.slice(2)). `maxConcurrency` is the cap derived from
 * DigitalOcean's limits (see limits.ts): `--concurrency` may lower it, never raise it.
 */
export function parseArgs(argv: readonly string[], maxConcurrency: number): DeployArgs {
    if (argv[0] === "stop-idle") return parseStopIdleArgs(argv.slice(1));
    const values = parseFlags(argv, DEPLOY_FLAGS, { refuseRepeats: true });
    if (values.help) return { kind: "help" };

    if (values.preview && values.destroy) {
        throw new UsageError("--preview and --destroy exclude each other: give at most one");
    }
    const action: Action = values.preview ? "preview" : values.destroy ? "destroy" : "up";

    const env = values.env;
    const fleetFile = values.fleet;
    if (env !== undefined && fleetFile !== undefined) {
        throw new UsageError("--env and --fleet exclude each other: a fleet file names each workstation's env");
    }
    if (env === undefined && fleetFile === undefined) {
        throw new UsageError(`give --env <${ENVIRONMENTS.join("|")}> or --fleet <file>\n${USAGE}`);
    }

    const concurrencyText = values.concurrency;
    if (env !== undefined) {
        if (!isEnvironment(env)) {
            throw new UsageError(`--env ${JSON.stringify(env)} is not an environment: allowed are ${ENVIRONMENTS.join(", ")}`);
        }
        if (concurrencyText !== undefined) {
            throw new UsageError(`--concurrency ${concurrencyText} applies to --fleet only; --env deploys one stack`);
        }
        return { kind: "single", env, action };
    }

    let concurrency: number | undefined;
    if (concurrencyText !== undefined) {
        concurrency = Number(concurrencyText);
        if (!/^\d+$/.test(concurrencyText) || concurrency < 1 || concurrency > maxConcurrency) {
            throw new UsageError(
                `--concurrency ${JSON.stringify(concurrencyText)} is not allowed: ` +
                    `a whole number from 1 to ${maxConcurrency} (the cap derived from DigitalOcean's API limits)`,
            );
        }
    }
    return { kind: "fleet", fleetFile: fleetFile as string, action, concurrency };
}

const STOP_IDLE_FLAGS = {
    "idle-minutes": { type: "string", valueHint: "a whole number of minutes, 1 or more" },
    stack: { type: "string", valueHint: "a stack name" },
    fleet: { type: "string", valueHint: "a .json, .yaml or .yml file" },
} satisfies FlagSpec;
/** Pulumi stack names: letters, digits, '-', '_' and '.'. */
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** `stop-idle`'s flags, all with a value, read as the deploy flags are. */
function parseStopIdleArgs(argv: readonly string[]): DeployArgs {
    let values;
    try {
        values = parseFlags(argv, STOP_IDLE_FLAGS, { refuseRepeats: true });
    } catch (err) {
        if (err instanceof UsageError) throw new UsageError(`stop-idle: ${err.message}`);
        throw err;
    }
    if (values.stack !== undefined && values.fleet !== undefined) {
        throw new UsageError("--stack and --fleet exclude each other: give one stack or a fleet file");
    }
    const minutesText = values["idle-minutes"];
    let idleMinutes: number | undefined;
    if (minutesText !== undefined) {
        idleMinutes = Number(minutesText);
        if (!/^\d+$/.test(minutesText) || idleMinutes < 1) {
            throw new UsageError(`--idle-minutes ${JSON.stringify(minutesText)} is not allowed: a whole number of minutes, 1 or more`);
        }
    }
    const stack = values.stack;
    if (stack !== undefined && !STACK_NAME.test(stack)) {
        throw new UsageError(`--stack ${JSON.stringify(stack)} is not a stack name: letters, digits, '-', '_' and '.'`);
    }
    return { kind: "stop-idle", idleMinutes, stack, fleetFile: values.fleet };
}
