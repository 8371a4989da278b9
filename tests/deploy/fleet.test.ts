import * as assert from "assert";
import { UsageError } from "../../tools/deploy/args";
import { fleetStackConfig, parseFleet, readStackFileConfig, stackNameFor } from "../../tools/deploy/fleet";
import { MIN_PULUMI_CLI_VERSION, checkCliVersion, configJson } from "../../tools/deploy/pulumiStacks";

function rejects(fn: () => unknown): string {
    try {
        fn();
    } catch (err) {
        assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`);
        return err.message;
    }
    assert.fail("expected the input to be rejected");
}

describe("fleet stack names", () => {
    it("names each workstation's stack <env>-<name>", () => {
        assert.strictEqual(stackNameFor("dev", "alice"), "dev-alice");
        assert.strictEqual(stackNameFor("prod", "bob-2"), "prod-bob-2");
    });

    it("refuses names that are not lower-case words joined by single hyphens, at most 32 characters", () => {
        for (const name of ["Alice", "-bob", "bob-", "a--b", "al ice", "dev_alice", "1alice", "", "a".repeat(33)]) {
            assert.throws(() => stackNameFor("dev", name), /does not match/, name);
        }
        assert.strictEqual(stackNameFor("dev", "a".repeat(32)), `dev-${"a".repeat(32)}`);
    });
});

describe("fleet file", () => {
    it("reads a JSON list of { name, env, config } into one stack per workstation", () => {
        const members = parseFleet(
            JSON.stringify([
                { name: "alice", env: "dev", config: { owner: "alice", "digitalocean:region": "ams3" } },
                { name: "bob", env: "prod" },
            ]),
            "fleet.json",
        );
        assert.deepStrictEqual(members, [
            { name: "alice", env: "dev", config: { owner: "alice", "digitalocean:region": "ams3" }, stackName: "dev-alice" },
            { name: "bob", env: "prod", config: {}, stackName: "prod-bob" },
        ]);
    });

    it("reads the same from YAML", () => {
        const members = parseFleet("- name: alice\n  env: dev\n  config:\n    owner: alice\n    ides: [vscode]\n", "fleet.yml");
        assert.deepStrictEqual(members, [{ name: "alice", env: "dev", config: { owner: "alice", ides: ["vscode"] }, stackName: "dev-alice" }]);
    });

    it("names the entry, the key, the value and what is allowed when an entry is bad", () => {
        const bad = (entries: unknown): string => rejects(() => parseFleet(JSON.stringify(entries), "f.json"));
        assert.strictEqual(bad([{ name: "alice", env: "qa" }]), '--fleet f.json: entry 0 (alice): env "qa" is not allowed: one of dev, staging, prod');
        assert.strictEqual(
            bad([{ name: "Alice", env: "dev" }]),
            '--fleet f.json: entry 0: name "Alice" is not allowed: lower-case letters, digits and single hyphens, ' +
                "starting with a letter, not ending with a hyphen, at most 32 characters",
        );
        assert.strictEqual(
            bad([{ env: "dev" }]),
            "--fleet f.json: entry 0: name missing is not allowed: lower-case letters, digits and " +
                "single hyphens, starting with a letter, not ending with a hyphen, at most 32 characters",
        );
        assert.strictEqual(bad([{ name: "a", env: "dev", size: "xl" }]), '--fleet f.json: entry 0: unknown key "size": allowed keys are name, env, config');
        assert.strictEqual(
            bad([{ name: "a", env: "dev", config: { "bad key": 1 } }]),
            '--fleet f.json: entry 0 (a): config key "bad key" is not allowed: a name like `owner` (project namespace) or `namespace:name`, letters, digits, _ . -',
        );
        assert.strictEqual(
            bad([{ name: "a", env: "dev", config: { owner: null } }]),
            "--fleet f.json: entry 0 (a): config owner is null: give a string, number, boolean, list or object",
        );
        assert.match(bad([{ name: "a", env: "dev", config: { token: { secure: "AAE=" } } }]), /config token is an encrypted \{ secure \} value/);
        assert.strictEqual(
            bad([{ name: "a", env: "dev", config: ["owner"] }]),
            "--fleet f.json: entry 0 (a): config must be an object of key: value, got a list",
        );
        assert.strictEqual(bad(["alice"]), '--fleet f.json: entry 0 must be an object { name, env, config }, got "alice"');
        assert.strictEqual(bad({ name: "alice" }), "--fleet f.json: the file must be a list of { name, env, config }, got an object");
        assert.strictEqual(bad([]), "--fleet f.json: the list is empty: name at least one workstation");
    });

    it("refuses two entries that would share one stack, since each needs its own state and lock", () => {
        const message = rejects(() =>
            parseFleet(
                JSON.stringify([
                    { name: "alice", env: "dev" },
                    { name: "alice", env: "prod" },
                    { name: "alice", env: "dev" },
                ]),
                "f.json",
            ),
        );
        assert.strictEqual(
            message,
            "--fleet f.json: entries 0 and 2 both make stack dev-alice: each (env, name) pair must be unique, " + "since each stack has its own state",
        );
    });

    it("refuses unparseable text and unknown extensions", () => {
        assert.match(
            rejects(() => parseFleet("[{", "f.json")),
            /^--fleet f\.json: not valid JSON: /,
        );
        assert.match(
            rejects(() => parseFleet("- [", "f.yaml")),
            /^--fleet f\.yaml: not valid YAML: /,
        );
        assert.strictEqual(
            rejects(() => parseFleet("[]", "f.txt")),
            '--fleet f.txt: extension ".txt" is not allowed: use .json, .yaml or .yml',
        );
    });
});

describe("fleet stack config", () => {
    it("starts from the env's stack file and puts the member's keys on top, fully qualified, lists as lists, scalars as text", () => {
        const envConfig = readStackFileConfig(
            "encryptionsalt: v1:abc\nconfig:\n  workstation:region: nyc3\n  workstation:ides:\n    - vscode\n",
            "Pulumi.dev.yaml",
        );
        const [member] = parseFleet(
            JSON.stringify([
                {
                    name: "alice",
                    env: "dev",
                    config: { owner: "alice", region: "ams3", desktop: false, "digitalocean:apiEndpoint": "x", stageEstimates: { desktop: 300 }, count: 3 },
                },
            ]),
            "f.json",
        );
        assert.deepStrictEqual(fleetStackConfig(envConfig, member), {
            "workstation:region": "ams3",
            "workstation:ides": ["vscode"],
            "workstation:owner": "alice",
            "workstation:desktop": "false",
            "digitalocean:apiEndpoint": "x",
            "workstation:stageEstimates": { desktop: 300 },
            "workstation:count": "3",
        });
    });

    it("refuses an env file with encrypted values, naming the key", () => {
        assert.strictEqual(
            rejects(() => readStackFileConfig("config:\n  workstation:password:\n    secure: AAABBB\n", "Pulumi.dev.yaml")),
            "Pulumi.dev.yaml: config workstation:password is a secret ({ secure }); fleet stacks cannot reuse another stack's " +
                "encrypted values: move it to an environment variable or deploy that env with --env",
        );
    });

    it("reads an env file without config as no config", () => {
        assert.deepStrictEqual(readStackFileConfig("encryptionsalt: v1:abc\n", "Pulumi.dev.yaml"), {});
        assert.deepStrictEqual(readStackFileConfig("", "Pulumi.dev.yaml"), {});
    });
});

describe("fleet stack config as the CLI receives it", () => {
    it("sends lists and mappings to `config set-all --json` as objectValue with their JSON as value, strings as plain values", () => {
        assert.deepStrictEqual(configJson(["owner:alice"]), { value: '["owner:alice"]', objectValue: ["owner:alice"], secret: false });
        assert.deepStrictEqual(configJson({ desktop: 300 }), { value: '{"desktop":300}', objectValue: { desktop: 300 }, secret: false });
        assert.deepStrictEqual(configJson([]), { value: "[]", objectValue: [], secret: false });
        assert.deepStrictEqual(configJson("nyc3"), { value: "nyc3", secret: false });
    });
});

describe("Pulumi CLI version", () => {
    it("accepts the minimum and anything newer, refuses older CLIs naming both versions", () => {
        assert.strictEqual(MIN_PULUMI_CLI_VERSION, "3.203.0");
        for (const ok of ["3.203.0", "v3.203.1", "3.259.0", "3.1000.0", "4.0.0"]) assert.doesNotThrow(() => checkCliVersion(ok), ok);
        for (const old of ["3.202.9", "v3.187.0", "2.999.0"]) {
            assert.throws(
                () => checkCliVersion(old),
                new RegExp(`^Error: the Pulumi CLI on PATH is ${old.replace(/\./g, "\\.")}; this project needs 3\\.203\\.0 or later`),
                old,
            );
        }
        assert.throws(() => checkCliVersion(null), /the Pulumi CLI on PATH is of an unknown version; this project needs 3\.203\.0 or later/);
    });
});
