// Command line of the local runner (`npm run local -- [options]`), kept apart from the
// runner so that it can be tested without hosts.

/** Test host names: they name a network namespace and a veth, hence the limits. */
export const HOST_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,9}$/;

export interface CliOptions {
    mode: "up" | "reuse" | "down" | "down-all" | "list" | "help";
    stack: string;
    name?: string;
    showSecrets: boolean;
    verbose: boolean;
    /** Skip the stand-in IDE repository (the IDE stages then use the configured sources). */
    standin: boolean;
    /** Point `workstation:dotfiles` at a stand-in repository served on the host's gateway. */
    standinDotfiles?: boolean;
    /** `--config KEY=JSON`, repeatable: stack config values over the stack file's, for this run only. */
    config: Record<string, unknown>;
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run local -- [options]

  (no mode)            provision a fresh test host with the stack's config and leave it running
  --reuse NAME         run the program again against the running host NAME, with the same keys;
                       every provisioning stage runs again (as when every trigger changed)
  --down NAME          stop the test host NAME and forget its keys
  --down-all           stop every test host
  --list               list running test hosts

  --stack NAME         the stack whose Pulumi.<stack>.yaml to use (default dev)
  --name NAME          name of the new host: 1-10 of a-z, 0-9, '-' (default ws-<stack>)
  --show-secrets       print secret outputs instead of "[secret]"
  --verbose            stream each stage's output (never for stages that handle secrets)
  --no-standin         do not point the IDE stages at the local stand-in repository
  --standin-dotfiles   set workstation:dotfiles to a stand-in git repository (with an
                       install script) served over HTTP on the host's gateway
  --config KEY=JSON    set workstation:KEY to the JSON value for this run, over the stack
                       file (repeatable), e.g. --config 'ides=["vscode"]' --config desktop=false
  --help               this text`;

const FLAGS_WITH_VALUE = ["--stack", "--name", "--reuse", "--down", "--config"];
const FLAGS = ["--show-secrets", "--verbose", "--no-standin", "--standin-dotfiles", "--down-all", "--list", "--help", "-h"];

/** Parses argv (after `--`); every error names the flag, the value and what is allowed. */
export function parseArgs(argv: string[], stacks: string[]): CliOptions {
    const opts: CliOptions = { mode: "up", stack: "dev", showSecrets: false, verbose: false, standin: true, config: {} };
    const modes: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const raw = argv[i];
        const eq = raw.indexOf("=");
        const flag = raw.startsWith("--") && eq > 0 ? raw.slice(0, eq) : raw;
        let value: string | undefined = raw.startsWith("--") && eq > 0 ? raw.slice(eq + 1) : undefined;
        if (FLAGS_WITH_VALUE.includes(flag)) {
            if (value === undefined) {
                value = argv[i + 1];
                if (value === undefined || value.startsWith("--")) {
                    throw new UsageError(`${flag} needs a value: ${flag === "--stack" ? `one of ${stacks.join(", ")}` : flag === "--config" ? "KEY=JSON" : "a host name"}`);
                }
                i++;
            }
        } else if (FLAGS.includes(flag)) {
            if (value !== undefined) throw new UsageError(`${flag} takes no value, got ${JSON.stringify(value)}`);
        } else {
            throw new UsageError(`unknown option ${JSON.stringify(raw)}; allowed: ${[...FLAGS_WITH_VALUE, ...FLAGS].join(", ")}`);
        }
        switch (flag) {
            case "--stack":
                if (!stacks.includes(value!)) {
                    throw new UsageError(`--stack ${JSON.stringify(value)}: no Pulumi.${value}.yaml; allowed: ${stacks.join(", ")}`);
                }
                opts.stack = value!;
                break;
            case "--name":
            case "--reuse":
            case "--down":
                if (!HOST_NAME_PATTERN.test(value!)) {
                    throw new UsageError(`${flag} ${JSON.stringify(value)}: a host name is 1 to 10 characters of a-z, 0-9 and '-', starting with a letter or digit`);
                }
                if (flag === "--name") opts.name = value;
                else {
                    opts.name = value;
                    modes.push(flag);
                    opts.mode = flag === "--reuse" ? "reuse" : "down";
                }
                break;
            case "--config": {
                const at = value!.indexOf("=");
                const key = at > 0 ? value!.slice(0, at) : "";
                if (!/^[A-Za-z][A-Za-z0-9]*$/.test(key)) {
                    throw new UsageError(`--config ${JSON.stringify(value)}: expected KEY=JSON with a config key such as ides or stageTimeouts`);
                }
                try {
                    opts.config[key] = JSON.parse(value!.slice(at + 1));
                } catch (e) {
                    throw new UsageError(`--config ${key}: ${JSON.stringify(value!.slice(at + 1))} is not JSON (${(e as Error).message}); quote strings, e.g. ${key}='"text"'`);
                }
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
    if (modes.length > 1) throw new UsageError(`${modes.join(" and ")} cannot be combined; choose one of --reuse, --down, --down-all, --list`);
    if (opts.mode === "reuse" && argv.some((a) => a === "--name" || a.startsWith("--name="))) {
        throw new UsageError("--name names a new host; with --reuse NAME the host is NAME");
    }
    if (opts.name === undefined && opts.mode === "up") {
        opts.name = `ws-${opts.stack}`.slice(0, 10).replace(/-+$/, "");
    }
    return opts;
}

