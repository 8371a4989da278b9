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

export type FlagSpec = Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }>;

type FlagValues<T extends FlagSpec> = {
    [K in keyof T]?: T[K]["type"] extends "string" ? (T[K]["multiple"] extends true ? string[] : string) : (T[K]["multiple"] extends true ? boolean[] : boolean);
};

/**
 * util.parseArgs in strict mode over `argv` (`--flag value` and `--flag=value`); an unknown
 * flag, a flag without its value, an empty value or a stray positional is a UsageError
 * naming it.
 */
export function parseFlags<T extends FlagSpec>(argv: string[], flags: T): FlagValues<T> {
    let values: Record<string, unknown>;
    try {
        values = parseArgs({ args: argv, options: flags, strict: true, allowPositionals: false }).values;
    } catch (err) {
        const e = err as Error & { code?: string };
        const flag = /'(-{1,2}[^' ]+)/.exec(e.message)?.[1];
        switch (e.code) {
            case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
                throw new UsageError(`unknown argument ${JSON.stringify(argv.find((a) => a.split("=")[0] === flag) ?? flag)}`);
            case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
                throw new UsageError(flags[flag?.replace(/^-+/, "") ?? ""]?.type === "boolean" ? `${flag} takes no value` : `${flag} needs a value`);
            case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
                throw new UsageError(`unknown argument ${JSON.stringify(/'([^']*)'/.exec(e.message)?.[1] ?? "")}`);
            default:
                throw err;
        }
    }
    for (const [name, value] of Object.entries(values)) {
        for (const v of Array.isArray(value) ? value : [value]) {
            if (v === "") throw new UsageError(`--${name} needs a value`);
        }
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
