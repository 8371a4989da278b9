// The command-line convention of every tool (npm run local, plan, bench, deploy, timeline):
// flags parsed by Node's util.parseArgs, one error type for what the user can fix, and one
// exit code for it. Messages name the flag and what is wrong, in this project's words
// rather than util.parseArgs's own.
import { parseArgs } from "util";

/** A problem the user can fix by changing the command line or a file it names: printed without a stack trace. */
export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/** The exit code of a UsageError, in every tool. */
export const USAGE_EXIT_CODE = 2;

export interface FlagOption {
    type: "string" | "boolean";
    multiple?: boolean;
    /** A one-letter alias (`h` for `-h`). */
    short?: string;
    /** What the value is, for the message when it is missing (`a host name`). */
    valueHint?: string;
}

export type FlagSpec = Record<string, FlagOption>;

/** One flag as given, in command-line order: its long name, and its value for a string flag. */
export interface FlagToken {
    name: string;
    value?: string;
}

/** The flags a tool allows, as its messages list them: the long ones, then the short aliases. */
export function allowedFlags(flags: FlagSpec): string {
    const short = Object.values(flags).flatMap((f) => (f.short ? [`-${f.short}`] : []));
    return [...Object.keys(flags).map((n) => `--${n}`), ...short].join(", ");
}

/**
 * The flags of `argv` in order, read by util.parseArgs in strict mode (`--flag value`,
 * `--flag=value`, `-h`). An unknown flag or a stray argument, a string flag without its
 * value and a boolean flag given one are each a UsageError naming the flag and what is allowed.
 */
export function flagTokens(argv: readonly string[], flags: FlagSpec): FlagToken[] {
    const options = Object.fromEntries(Object.entries(flags).map(([n, f]) => [n, { type: f.type, multiple: true, ...(f.short ? { short: f.short } : {}) }]));
    let tokens;
    try {
        tokens = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false, tokens: true }).tokens;
    } catch (err) {
        const e = err as Error & { code?: string };
        // The flag as util.parseArgs's first line names it ('-h, --help': the long one).
        const named = [...e.message.split("\n")[0].matchAll(/(?:^|[' ])(-{1,2}[A-Za-z][\w-]*)/g)].map((m) => m[1]);
        const flag = named[named.length - 1] ?? "";
        const raw = (f: string): string => argv.find((a) => a === f || a.startsWith(`${f}=`)) ?? f;
        switch (e.code) {
            case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
                throw new UsageError(`unknown option ${JSON.stringify(raw(flag))}; allowed: ${allowedFlags(flags)}`);
            case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
                throw new UsageError(`unexpected argument ${JSON.stringify(/'([^']*)'/.exec(e.message)?.[1] ?? "")}; allowed: ${allowedFlags(flags)}`);
            case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
                const spec = flags[flag.replace(/^-+/, "")];
                if (spec?.type === "boolean") {
                    throw new UsageError(`${flag} takes no value, got ${JSON.stringify(raw(flag).slice(flag.length + 1))}`);
                }
                throw new UsageError(`${flag} needs a value${spec?.valueHint ? `: ${spec.valueHint}` : ""}`);
            }
            default:
                throw err;
        }
    }
    return tokens.flatMap((t) => (t.kind === "option" ? [{ name: t.name, ...(t.value !== undefined ? { value: t.value } : {}) }] : []));
}

type FlagValues<T extends FlagSpec> = {
    [K in keyof T]?: T[K]["type"] extends "string" ? (T[K]["multiple"] extends true ? string[] : string) : boolean;
};

/** How parseFlags treats a flag that is not `multiple` and is given twice. */
export interface ParseFlagsOptions {
    /** Refuse it, naming the flag (the deploy driver: a second --env is a mistake, not an override). Default: the last value wins. */
    refuseRepeats?: boolean;
}

/**
 * The flags of `argv` by name, as flagTokens reads them; an empty value (`--stack=`) is a
 * missing one. A flag given twice keeps its last value unless it is `multiple`, or is
 * refused with `refuseRepeats`.
 */
export function parseFlags<T extends FlagSpec>(argv: readonly string[], flags: T, options: ParseFlagsOptions = {}): FlagValues<T> {
    const values: Record<string, unknown> = {};
    for (const t of flagTokens(argv, flags)) {
        const spec = flags[t.name];
        if (options.refuseRepeats && !spec.multiple && t.name in values) throw new UsageError(`--${t.name} is given more than once: give it once`);
        if (spec.type === "boolean") {
            values[t.name] = true;
            continue;
        }
        if (t.value === "" || t.value === undefined) throw new UsageError(`--${t.name} needs a value${spec.valueHint ? `: ${spec.valueHint}` : ""}`);
        values[t.name] = spec.multiple ? [...((values[t.name] as string[] | undefined) ?? []), t.value] : t.value;
    }
    return values as FlagValues<T>;
}

/**
 * What every tool does with an error from its command line: a UsageError is printed as
 * `<tool>: <message>` (then the usage text, when given) and gives USAGE_EXIT_CODE; anything
 * else is not the user's to fix and is thrown on.
 */
export function usageFailure(tool: string, err: unknown, usage?: string): number {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${tool}: ${err.message}\n${usage === undefined ? "" : `\n${usage}\n`}`);
    return USAGE_EXIT_CODE;
}

/**
 * A tool's entry point: runs `main` on the command line's arguments and exits with its code;
 * an error that escapes it is a bug, printed with its stack as `<tool>: ...`, exit 1.
 */
export function runCli(tool: string, main: (argv: string[]) => Promise<number>): void {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (err: Error) => {
            process.stderr.write(`${tool}: ${err.stack ?? err.message}\n`);
            process.exit(1);
        },
    );
}
