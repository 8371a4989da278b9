// The command-line convention every tool shares (tools/shared/cli.ts).
import * as assert from "assert";
import { USAGE_EXIT_CODE, UsageError, flagTokens, parseFlags, usageFailure } from "../../tools/shared/cli";
import { UsageError as BenchUsageError } from "../../tools/bench/args";
import { UsageError as DeployUsageError } from "../../tools/deploy/args";
import { UsageError as LocalUsageError } from "../../tools/local/cli";
import { CliError as TimelineUsageError } from "../../tools/timeline/cli";

const FLAGS = {
    stack: { type: "string", valueHint: "a stack name" },
    verbose: { type: "boolean", short: "v" },
    set: { type: "string", multiple: true },
} as const;

function usageMessage(argv: string[]): string {
    try {
        parseFlags(argv, FLAGS);
    } catch (err) {
        assert.ok(err instanceof UsageError, String(err));
        return err.message;
    }
    return assert.fail(`${argv.join(" ")} was accepted`);
}

describe("tools/shared/cli", () => {
    it("reads --flag value, --flag=value, booleans and repeated flags", () => {
        assert.deepStrictEqual(
            { ...parseFlags(["--stack", "dev", "--verbose", "--set=a=1", "--set", "b=2"], FLAGS) },
            { stack: "dev", verbose: true, set: ["a=1", "b=2"] },
        );
        assert.deepStrictEqual({ ...parseFlags(["-v", "--stack", "a", "--stack", "b"], FLAGS) }, { verbose: true, stack: "b" });
        assert.deepStrictEqual({ ...parseFlags([], FLAGS) }, {});
        assert.deepStrictEqual(flagTokens(["--set=a", "-v", "--stack", "s"], FLAGS), [
            { name: "set", value: "a" },
            { name: "verbose" },
            { name: "stack", value: "s" },
        ]);
    });

    it("refuses a repeated flag with refuseRepeats, naming it, and still collects a multiple one", () => {
        const refuse = (argv: string[]): void => assert.throws(() => parseFlags(argv, FLAGS, { refuseRepeats: true }), UsageError);
        refuse(["--stack", "a", "--stack", "b"]);
        refuse(["-v", "--verbose"]);
        assert.throws(() => parseFlags(["--stack=a", "--stack", "b"], FLAGS, { refuseRepeats: true }), {
            message: "--stack is given more than once: give it once",
        });
        assert.deepStrictEqual({ ...parseFlags(["--set", "a", "--set", "b"], FLAGS, { refuseRepeats: true }) }, { set: ["a", "b"] });
    });

    it("names an unknown flag, a missing or empty value, a value on a boolean and a stray argument", () => {
        assert.strictEqual(usageMessage(["--stak", "dev"]), 'unknown option "--stak"; allowed: --stack, --verbose, --set, -v');
        assert.strictEqual(usageMessage(["--stak=dev"]), 'unknown option "--stak=dev"; allowed: --stack, --verbose, --set, -v');
        assert.strictEqual(usageMessage(["--stack"]), "--stack needs a value: a stack name");
        assert.strictEqual(usageMessage(["--stack", "--verbose"]), "--stack needs a value: a stack name");
        assert.strictEqual(usageMessage(["--stack="]), "--stack needs a value: a stack name");
        assert.strictEqual(usageMessage(["--verbose=yes"]), '--verbose takes no value, got "yes"');
        assert.strictEqual(usageMessage(["dev"]), 'unexpected argument "dev"; allowed: --stack, --verbose, --set, -v');
    });

    it("is the one usage error of every tool, with one exit code", () => {
        for (const cls of [BenchUsageError, DeployUsageError, LocalUsageError, TimelineUsageError]) assert.strictEqual(cls, UsageError);
        assert.strictEqual(USAGE_EXIT_CODE, 2);
        const write = process.stderr.write;
        let printed = "";
        process.stderr.write = ((s: string) => ((printed += s), true)) as typeof process.stderr.write;
        try {
            assert.strictEqual(usageFailure("npm run x", new UsageError("--stack needs a value"), "usage: npm run x -- --stack NAME"), 2);
        } finally {
            process.stderr.write = write;
        }
        assert.strictEqual(printed, "npm run x: --stack needs a value\n\nusage: npm run x -- --stack NAME\n");
        assert.throws(() => usageFailure("npm run x", new Error("boom")), /^Error: boom$/);
    });
});
