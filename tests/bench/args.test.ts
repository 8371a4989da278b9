import * as assert from "assert";
import { CASES, parseArgs, UsageError } from "../../tools/bench/args";

const STACKS = ["dev", "prod", "staging"];
const DEFAULTS = { thresholdsFile: "tools/bench/thresholds.json", outFile: "tools/bench/results.json" };

function usageError(argv: string[]): string {
    try {
        parseArgs(argv, STACKS, DEFAULTS);
    } catch (err) {
        assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`);
        return err.message;
    }
    assert.fail(`expected ${JSON.stringify(argv)} to be rejected`);
}

describe("bench arguments", () => {
    it("defaults to 3 runs of every case, 50 key generations, the dev stack", () => {
        assert.deepStrictEqual(parseArgs([], STACKS, DEFAULTS), {
            runs: 3,
            cases: [...CASES],
            keyRuns: 50,
            thresholdsFile: "tools/bench/thresholds.json",
            outFile: "tools/bench/results.json",
            stack: "dev",
            help: false,
        });
    });

    it("reads --flag value and --flag=value, and keeps the case order canonical", () => {
        const o = parseArgs(["--runs", "1", "--cases=key,naive", "--key-runs=10", "--out", "/tmp/r.json", "--stack=prod"], STACKS, DEFAULTS);
        assert.strictEqual(o.runs, 1);
        assert.deepStrictEqual(o.cases, ["naive", "key"]);
        assert.strictEqual(o.keyRuns, 10);
        assert.strictEqual(o.outFile, "/tmp/r.json");
        assert.strictEqual(o.stack, "prod");
    });

    it("names the flag, the value and what is allowed when the input is bad", () => {
        assert.strictEqual(usageError(["--runs", "0"]), '--runs "0": must be a whole number from 1 to 20');
        assert.strictEqual(usageError(["--runs=three"]), '--runs "three": must be a whole number from 1 to 20');
        assert.strictEqual(usageError(["--key-runs", "1001"]), '--key-runs "1001": must be a whole number from 1 to 1000');
        assert.strictEqual(usageError(["--cases", "optimized,fast"]), '--cases "optimized,fast": unknown case "fast"; allowed: a comma-separated subset of optimized, naive, floor, rerun, key');
        assert.strictEqual(usageError(["--cases="]), '--cases "": empty; allowed: a comma-separated subset of optimized, naive, floor, rerun, key');
        assert.strictEqual(usageError(["--stack", "qa"]), '--stack "qa": no Pulumi.qa.yaml; allowed: dev, prod, staging');
        assert.strictEqual(usageError(["--runs"]), "--runs needs a value");
        assert.strictEqual(usageError(["--runs", "--cases"]), "--runs needs a value");
        assert.strictEqual(usageError(["--help=yes"]), '--help takes no value, got "yes"');
        assert.strictEqual(usageError(["-k", "3"]), 'unknown option "-k"; allowed: --runs, --cases, --key-runs, --thresholds, --out, --stack, --help, -h');
    });

    it("refuses rerun without optimized: the re-run needs the host optimized provisioned", () => {
        assert.strictEqual(usageError(["--cases", "rerun"]), '--cases "rerun": rerun runs on the host the optimized case provisioned; add optimized');
    });

    it("answers --help", () => {
        assert.strictEqual(parseArgs(["-h"], STACKS, DEFAULTS).help, true);
    });
});
