// Command line of the local runner (`npm run local -- [options]`), kept apart from the
// runner so that it can be tested without hosts.

/** Test host names: they name a network namespace and a veth, hence the limits. */
export const HOST_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,9}$/;

export interface CliOptions {
    mode: "up" | "reuse" | "stop" | "start" | "down" | "destroy" | "down-all" | "list" | "help";
    stack: string;
    name?: string;
    showSecrets: boolean;
    verbose: boolean;
    /** Skip the stand-in IDE repository (the IDE stages then use the configured sources). */
    standin: boolean;
    /** Point `workstation:dotfiles` at a stand-in repository served on the host's gateway. */
    standinDotfiles?: boolean;
    /** `--set KEY=VALUE`: config values over the stack file's (VALUE as JSON when it parses, else text). */
    set?: Record<string, unknown>;
}

import { FlagSpec, UsageError, flagTokens } from "../shared/cli";

export { UsageError };

export const USAGE = `usage: npm run local -- [options]

  (no mode)            provision a fresh test host with the stack's config and leave it running
  --reuse NAME         run the program again against the running host NAME, with the same keys;
                       every provisioning stage runs again (as when every trigger changed)
  --stop NAME          run the program with running: false: the test host NAME is removed,
                       its keys, password and the stack's volume are kept
  --start NAME         run the program with running: true after a --stop: a new test host
                       with the same keys, the stack's volume attached
  --down NAME          stop the test host NAME, release its volume's loop device and forget
                       its keys; the stack's volume file is kept
  --destroy NAME       as --down, and delete the volume files of NAME's stack (the only way
                       the runner deletes a volume, as only pulumi destroy deletes one)
  --down-all           stop every test host and release every volume's loop device
  --list               list running test hosts

  --stack NAME         the stack whose Pulumi.<stack>.yaml to use (default dev)
  --name NAME          name of the new host: 1-10 of a-z, 0-9, '-' (default ws-<stack>)
  --show-secrets       print secret outputs instead of "[secret]"
  --verbose            stream each stage's output (never for stages that handle secrets)
  --no-standin         do not point the IDE stages at the local stand-in repository
  --standin-dotfiles   set workstation:dotfiles to a stand-in git repository (with an
                       install script) served over HTTP on the host's gateway
  --set KEY=VALUE      set workstation:KEY over the stack file (VALUE as JSON when it
                       parses, else text), e.g. --set role=image --set imageBake=local-1
  --help               this text`;

const MODE_OF: Record<string, CliOptions["mode"]> = { "--reuse": "reuse", "--stop": "stop", "--start": "start", "--down": "down", "--destroy": "destroy" };

/** The runner's flags, in the order its messages list them. */
function flagSpec(stacks: string[]): FlagSpec {
    const host = { type: "string", valueHint: "a host name" } as const;
    return {
        stack: { type: "string", valueHint: `one of ${stacks.join(", ")}` },
        name: host,
        reuse: host,
        stop: host,
        start: host,
        down: host,
        destroy: host,
        set: { type: "string", valueHint: "KEY=VALUE" },
        "show-secrets": { type: "boolean" },
        verbose: { type: "boolean" },
        "no-standin": { type: "boolean" },
        "standin-dotfiles": { type: "boolean" },
        "down-all": { type: "boolean" },
        list: { type: "boolean" },
        help: { type: "boolean", short: "h" },
    };
}

/** Parses argv (after `--`); every error names the flag, the value and what is allowed. */
export function parseArgs(argv: string[], stacks: string[]): CliOptions {
    const opts: CliOptions = { mode: "up", stack: "dev", showSecrets: false, verbose: false, standin: true };
    const modes: string[] = [];
    for (const token of flagTokens(argv, flagSpec(stacks))) {
        const flag = `--${token.name}`;
        const value = token.value;
        switch (flag) {
            case "--stack":
                if (!stacks.includes(value!)) {
                    throw new UsageError(`--stack ${JSON.stringify(value)}: no Pulumi.${value}.yaml; allowed: ${stacks.join(", ")}`);
                }
                opts.stack = value!;
                break;
            case "--name":
            case "--reuse":
            case "--stop":
            case "--start":
            case "--down":
            case "--destroy":
                if (!HOST_NAME_PATTERN.test(value!)) {
                    throw new UsageError(
                        `${flag} ${JSON.stringify(value)}: a host name is 1 to 10 characters of a-z, 0-9 and '-', starting with a letter or digit`,
                    );
                }
                if (flag === "--name") opts.name = value;
                else {
                    opts.name = value;
                    modes.push(flag);
                    opts.mode = MODE_OF[flag];
                }
                break;
            case "--set": {
                const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/s.exec(value!);
                if (!m) throw new UsageError(`--set ${JSON.stringify(value)}: expected KEY=VALUE, such as role=image`);
                let parsed: unknown = m[2];
                try {
                    parsed = JSON.parse(m[2]);
                } catch {
                    // plain text
                }
                opts.set = { ...opts.set, [m[1]]: parsed };
                break;
            }
            case "--show-secrets":
                opts.showSecrets = true;
                break;
            case "--verbose":
                opts.verbose = true;
                break;
            case "--no-standin":
                opts.standin = false;
                break;
            case "--standin-dotfiles":
                opts.standinDotfiles = true;
                break;
            case "--down-all":
                modes.push(flag);
                opts.mode = "down-all";
                break;
            case "--list":
                modes.push(flag);
                opts.mode = "list";
                break;
            default:
                modes.push(flag);
                opts.mode = "help";
        }
    }
    if (modes.length > 1)
        throw new UsageError(`${modes.join(" and ")} cannot be combined; choose one of --reuse, --stop, --start, --down, --destroy, --down-all, --list`);
    if (Object.values(MODE_OF).includes(opts.mode) && argv.some((a) => a === "--name" || a.startsWith("--name="))) {
        throw new UsageError(`--name names a new host; with --${opts.mode} NAME the host is NAME`);
    }
    if (opts.name === undefined && opts.mode === "up") {
        opts.name = `ws-${opts.stack}`.slice(0, 10).replace(/-+$/, "");
    }
    return opts;
}
