// `npm run timeline -- --stack NAME | --file outputs.json [--out FILE]`: draws the
// timeline page of a stack's last `pulumi up` from `pulumi stack output --json`, or from
// outputs saved in a file.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { UsageError, parseFlags, usageFailure } from "../shared/cli";
import { TimelineInputError } from "./model";
import { writeTimelinePage } from "./page";

export const USAGE = `usage: npm run timeline -- (--stack NAME | --file OUTPUTS.json) [--out FILE.html]
  --stack NAME   read the outputs with \`pulumi stack output --json --show-secrets=false --stack NAME\`
  --file FILE    read outputs saved by \`pulumi stack output --json > FILE\`
  --out FILE     where to write the page (default: timeline-<stack>.html, or <file>.timeline.html)`;

/** The timeline's usage errors are the shared UsageError (tools/shared/cli.ts). */
export { UsageError as CliError };

export interface TimelineArgs {
    stack?: string;
    file?: string;
    out?: string;
}

export function parseTimelineArgs(argv: string[]): TimelineArgs {
    const flags = parseFlags(argv, { stack: { type: "string" }, file: { type: "string" }, out: { type: "string" } });
    const args: TimelineArgs = {};
    if (flags.stack !== undefined) args.stack = flags.stack;
    if (flags.file !== undefined) args.file = flags.file;
    if (flags.out !== undefined) args.out = flags.out;
    if ((args.stack === undefined) === (args.file === undefined)) throw new UsageError("give exactly one of --stack NAME or --file OUTPUTS.json");
    if (args.stack !== undefined && !/^[A-Za-z0-9_./-]+$/.test(args.stack)) throw new UsageError(`--stack ${JSON.stringify(args.stack)}: not a stack name`);
    return args;
}

/** The stack's outputs as the Pulumi CLI prints them (secrets masked). */
export function stackOutputs(stack: string, pulumiBin = "pulumi"): unknown {
    const res = spawnSync(pulumiBin, ["stack", "output", "--json", "--show-secrets=false", "--stack", stack], { encoding: "utf8" });
    if (res.error && (res.error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new UsageError(
            `the Pulumi CLI (${pulumiBin}) is not installed or not on PATH; install it (https://www.pulumi.com/docs/install/), ` +
                "or save the outputs where it is installed (pulumi stack output --json > outputs.json) and run with --file outputs.json",
        );
    }
    if (res.error) throw res.error;
    if (res.status !== 0) throw new UsageError(`pulumi stack output --stack ${stack} failed (exit ${res.status}): ${res.stderr.trim()}`);
    try {
        return JSON.parse(res.stdout);
    } catch (err) {
        throw new UsageError(`pulumi stack output printed no JSON: ${(err as Error).message}`);
    }
}

export function main(argv: string[]): number {
    try {
        const args = parseTimelineArgs(argv);
        let outputs: unknown;
        let title: string;
        let out: string;
        if (args.file !== undefined) {
            let text: string;
            try {
                text = fs.readFileSync(args.file, "utf8");
            } catch (err) {
                throw new UsageError(`--file ${args.file}: ${(err as Error).message}`);
            }
            try {
                outputs = JSON.parse(text);
            } catch (err) {
                throw new UsageError(`--file ${args.file}: not JSON (${(err as Error).message})`);
            }
            title = path.basename(args.file);
            out = args.out ?? args.file.replace(/(\.json)?$/, ".timeline.html");
        } else {
            outputs = stackOutputs(args.stack!);
            title = `stack ${args.stack}`;
            out = args.out ?? `timeline-${args.stack!.replace(/[/]/g, "-")}.html`;
        }
        process.stdout.write(`${writeTimelinePage(outputs, out, title)}\n`);
        return 0;
    } catch (err) {
        if (err instanceof TimelineInputError) return usageFailure("npm run timeline", new UsageError(err.message));
        return usageFailure("npm run timeline", err, USAGE);
    }
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
