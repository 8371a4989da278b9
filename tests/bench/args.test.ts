import * as assert from "assert";
import { CASES, FLEET_MAX, parseArgs, UsageError } from "../../tools/bench/args";

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
    it("defaults to 3 runs of every case but the fleet, 50 key generations, the dev stack", () => {
        assert.deepStrictEqual(parseArgs([], STACKS, DEFAULTS), {
            runs: 3,
            cases: CASES.filter((c) => c !== "fleet"),
            keyRuns: 50,
            thresholdsFile: "tools/bench/thresholds.json",
            outFile: "tools/bench/results.json",
            stack: "dev",
            links: [{ kind: "shaped", text: "200mbit", rateBitsPerSecond: 200e6, delayMs: 0 }, { kind: "none" }],
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
        assert.strictEqual(
            usageError(["--cases", "optimized,fast"]),
            '--cases "optimized,fast": unknown case "fast"; allowed: a comma-separated subset of optimized, naive, floor, rerun, from-image, restart, key, fleet',
        );
        assert.strictEqual(
            usageError(["--cases="]),
            '--cases "": empty; allowed: a comma-separated subset of optimized, naive, floor, rerun, from-image, restart, key, fleet',
        );
        assert.strictEqual(usageError(["--stack", "qa"]), '--stack "qa": no Pulumi.qa.yaml; allowed: dev, prod, staging');
        assert.strictEqual(usageError(["--runs"]), "--runs needs a value");
        assert.strictEqual(usageError(["--runs", "--cases"]), "--runs needs a value");
        assert.strictEqual(usageError(["--help=yes"]), '--help takes no value, got "yes"');
        assert.strictEqual(
            usageError(["-k", "3"]),
            'unknown option "-k"; allowed: --runs, --cases, --key-runs, --thresholds, --out, --stack, --link, --fleet, --help, -h',
        );
    });

    it("refuses rerun without optimized: the re-run needs the host optimized provisioned", () => {
        assert.strictEqual(usageError(["--cases", "rerun"]), '--cases "rerun": rerun runs on the host the optimized case provisioned; add optimized');
    });

    it("refuses restart and from-image without optimized: one runs on its host, the other is measured against it", () => {
        assert.strictEqual(usageError(["--cases", "restart"]), '--cases "restart": restart runs on the host the optimized case provisioned; add optimized');
        assert.strictEqual(
            usageError(["--cases", "from-image,naive"]),
            '--cases "naive,from-image": from-image is measured against a fresh workstation of the same run (optimized); add optimized',
        );
    });

    it("reads --link: none, a rate, a rate with a delay, or both kinds, shaped first", () => {
        assert.deepStrictEqual(parseArgs(["--link", "none"], STACKS, DEFAULTS).links, [{ kind: "none" }]);
        assert.deepStrictEqual(parseArgs(["--link=1.5gbit"], STACKS, DEFAULTS).links, [
            { kind: "shaped", text: "1.5gbit", rateBitsPerSecond: 1.5e9, delayMs: 0 },
        ]);
        assert.deepStrictEqual(parseArgs(["--link", "none,100mbit:20ms"], STACKS, DEFAULTS).links, [
            { kind: "shaped", text: "100mbit:20ms", rateBitsPerSecond: 100e6, delayMs: 20 },
            { kind: "none" },
        ]);
    });

    it("refuses a bad --link, naming the value and the allowed form", () => {
        const form = '"none" or RATE[:DELAY] with RATE a number and kbit, mbit or gbit (e.g. 200mbit, 1.5gbit) and DELAY the round-trip time in ms (e.g. 20ms)';
        assert.strictEqual(usageError(["--link", "200mb"]), `--link "200mb": not ${form}`);
        assert.strictEqual(usageError(["--link", "200mbit:20"]), `--link "200mbit:20": not ${form}`);
        assert.strictEqual(usageError(["--link", "500kbit"]), '--link "500kbit": rate 500kbit is outside 1mbit to 100gbit');
        assert.strictEqual(usageError(["--link", "100mbit:2000ms"]), '--link "100mbit:2000ms": delay 2000ms is above 1000ms');
        assert.strictEqual(
            usageError(["--link", "100mbit,200mbit"]),
            '--link "100mbit,200mbit": at most one shaped link and one "none" (the figures are named by shaped/unshaped)',
        );
        assert.match(usageError(["--link", ","]), /^--link ",": empty; allowed: a comma-separated list of "none" or RATE/);
    });

    it("runs the fleet only when --cases names it, 4 workstations unless --fleet says otherwise", () => {
        assert.strictEqual(parseArgs([], STACKS, DEFAULTS).fleet, undefined);
        const o = parseArgs(["--cases", "fleet"], STACKS, DEFAULTS);
        assert.deepStrictEqual([o.cases, o.fleet], [["fleet"], 4]);
        assert.strictEqual(parseArgs(["--cases=fleet,key", "--fleet", "1"], STACKS, DEFAULTS).fleet, 1);
        assert.strictEqual(parseArgs(["--fleet=10", "--cases", "fleet"], STACKS, DEFAULTS).fleet, FLEET_MAX);
    });

    it("refuses a bad --fleet, and --fleet without the fleet case", () => {
        assert.strictEqual(usageError(["--cases", "fleet", "--fleet", "0"]), '--fleet "0": must be a whole number from 1 to 10');
        assert.strictEqual(usageError(["--cases", "fleet", "--fleet", "11"]), '--fleet "11": must be a whole number from 1 to 10');
        assert.strictEqual(usageError(["--cases", "fleet", "--fleet", "four"]), '--fleet "four": must be a whole number from 1 to 10');
        assert.strictEqual(
            usageError(["--fleet", "4"]),
            '--fleet 4: sizes the fleet case, which --cases "optimized,naive,floor,rerun,from-image,restart,key" does not run; add fleet to --cases',
        );
        assert.strictEqual(
            usageError(["--cases", "key", "--fleet=2"]),
            '--fleet 2: sizes the fleet case, which --cases "key" does not run; add fleet to --cases',
        );
    });

    it("answers --help", () => {
        assert.strictEqual(parseArgs(["-h"], STACKS, DEFAULTS).help, true);
    });
});
