import * as assert from "assert";
import { UsageError, parseArgs } from "../../tools/deploy/args";

const CAP = 5;

function usageError(argv: string[]): string {
    try {
        parseArgs(argv, CAP);
    } catch (err) {
        assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`);
        return err.message;
    }
    assert.fail(`expected ${JSON.stringify(argv)} to be rejected`);
}

describe("deploy driver arguments", () => {
    it("reads --env as an up of that env's stack", () => {
        assert.deepStrictEqual(parseArgs(["--env", "dev"], CAP), { kind: "single", env: "dev", action: "up" });
        assert.deepStrictEqual(parseArgs(["--env=prod"], CAP), { kind: "single", env: "prod", action: "up" });
    });

    it("reads --preview and --destroy as the action", () => {
        assert.deepStrictEqual(parseArgs(["--env", "staging", "--preview"], CAP), { kind: "single", env: "staging", action: "preview" });
        assert.deepStrictEqual(parseArgs(["--destroy", "--env", "dev"], CAP), { kind: "single", env: "dev", action: "destroy" });
    });

    it("reads --fleet with an optional --concurrency up to the cap", () => {
        assert.deepStrictEqual(parseArgs(["--fleet", "fleet.yaml"], CAP), { kind: "fleet", fleetFile: "fleet.yaml", action: "up", concurrency: undefined });
        assert.deepStrictEqual(parseArgs(["--fleet", "f.json", "--concurrency", "5", "--preview"], CAP), {
            kind: "fleet",
            fleetFile: "f.json",
            action: "preview",
            concurrency: 5,
        });
        assert.deepStrictEqual(parseArgs(["--concurrency=1", "--fleet=f.json"], CAP), { kind: "fleet", fleetFile: "f.json", action: "up", concurrency: 1 });
    });

    it("answers --help with help, whatever else is given", () => {
        assert.deepStrictEqual(parseArgs(["--help"], CAP), { kind: "help" });
    });

    it("names the flag, the value and what is allowed when the input is bad", () => {
        assert.strictEqual(usageError(["--env", "qa"]), '--env "qa" is not an environment: allowed are dev, staging, prod');
        assert.strictEqual(usageError(["--stack", "dev"]), 'unknown option "--stack"; allowed: --env, --fleet, --concurrency, --preview, --destroy, --help');
        assert.strictEqual(usageError(["dev"]), 'unexpected argument "dev"; allowed: --env, --fleet, --concurrency, --preview, --destroy, --help');
        assert.strictEqual(usageError(["--env"]), "--env needs a value: one of dev, staging, prod");
        assert.strictEqual(usageError(["--env", "--preview"]), "--env needs a value: one of dev, staging, prod");
        assert.strictEqual(usageError(["--env", "dev", "--preview", "--destroy"]), "--preview and --destroy exclude each other: give at most one");
        assert.strictEqual(usageError(["--env", "dev", "--env", "prod"]), "--env is given more than once: give it once");
        assert.strictEqual(
            usageError(["--env", "dev", "--fleet", "f.yaml"]),
            "--env and --fleet exclude each other: a fleet file names each workstation's env",
        );
        assert.strictEqual(usageError(["--preview=yes", "--env", "dev"]), '--preview takes no value, got "yes"');
        assert.strictEqual(usageError(["--env", "dev", "--concurrency", "2"]), "--concurrency 2 applies to --fleet only; --env deploys one stack");
        assert.match(usageError([]), /^give --env <dev\|staging\|prod> or --fleet <file>\nusage:/);
    });

    it("refuses a concurrency above the derived cap, zero, or not a whole number", () => {
        for (const value of ["6", "0", "2.5", "-1", "many"]) {
            assert.strictEqual(
                // `=`: util.parseArgs takes a separate "-1" for a flag, not a value
                usageError(["--fleet", "f.yaml", `--concurrency=${value}`]),
                `--concurrency "${value}" is not allowed: a whole number from 1 to 5 (the cap derived from DigitalOcean's API limits)`,
            );
        }
    });
});
