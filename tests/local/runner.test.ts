// The runner's engine behaviour on a small fake program (tests/local/fixtures): mock
// dispatch, dependency order, concurrency of independent commands, failure handling,
// secret outputs. Each case runs the program in a child process, as the runner does.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { decodeResolved, formatStackOutputs, Resolved, SecretValue } from "../../tools/local/outputs";
import { parseArgs, UsageError } from "../../tools/local/cli";
import { unwrapSecrets, parseMarkerLine, SECRET_SIG_KEY, SECRET_SIG_VALUE } from "../../tools/local/mockCloud";

interface FakeRun {
    ok: boolean;
    error?: string;
    outputs: unknown;
    execs: { stage: string; start: number; end: number; user: string; dialErrorLimit?: number; hasKey: boolean }[];
    events: string[];
    resources: { type: string; name: string; id: string; state: Record<string, unknown> }[];
    failures: { name: string; error: string }[];
    dropletKeys: string[];
    dropletUserData?: string;
}

function runFake(env: Record<string, string>): { run: FakeRun; status: number | null; stderr: string } {
    const res = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "fixtures", "runFake.ts")], {
        cwd: path.resolve(__dirname, "..", ".."),
        env: { ...process.env, ...env },
        encoding: "utf8",
        timeout: 60000,
    });
    const line = res.stdout.trim().split("\n").pop() ?? "";
    return { run: JSON.parse(line) as FakeRun, status: res.status, stderr: res.stderr };
}

describe("local runner on a fake program", function () {
    this.timeout(60000);
    let ok: FakeRun;
    before(() => {
        ok = runFake({ FAKE_DELAY: "0.5" }).run;
    });

    it("gives the droplet the public key that the SshKey registered, and the user data unwrapped", () => {
        const key = ok.resources.find((r) => r.type === "tls:index/privateKey:PrivateKey")!;
        const pub = unwrapSecrets(key.state.publicKeyOpenssh);
        assert.deepStrictEqual(ok.dropletKeys, [pub]);
        assert.strictEqual(ok.dropletUserData, "#cloud-config\n{}\n");
    });

    it("fills the droplet's computed outputs from the size table", () => {
        const droplet = ok.resources.find((r) => r.type === "digitalocean:index/droplet:Droplet")!;
        assert.strictEqual(droplet.state.ipv4Address, "10.213.9.2");
        assert.strictEqual(droplet.state.priceMonthly, 24);
        assert.strictEqual(droplet.state.vcpus, 2);
        assert.strictEqual(droplet.state.memory, 4096);
        assert.strictEqual(droplet.state.status, "active");
        assert.match(String(droplet.id), /^[0-9]+$/);
    });

    it("runs each command with the connection's user, key and dial limit", () => {
        assert.deepStrictEqual(
            ok.execs.map((e) => [e.user, e.dialErrorLimit, e.hasKey]),
            ok.execs.map(() => ["dev", -1, true]),
        );
    });

    it("starts b and c only after a ends, together, and d only after both end", () => {
        const by = Object.fromEntries(ok.execs.map((e) => [e.stage, e]));
        assert.ok(by.b.start >= by.a.end && by.c.start >= by.a.end, "b and c wait for a");
        assert.ok(by.b.start < by.c.end && by.c.start < by.b.end, `b and c overlap: ${JSON.stringify([by.b, by.c])}`);
        assert.ok(by.d.start >= Math.max(by.b.end, by.c.end), "d waits for b and c");
    });

    it("resolves exports with secrets marked where the engine marks them", () => {
        const outputs = decodeResolved(ok.outputs) as Record<string, Resolved>;
        assert.strictEqual(outputs.ip, "10.213.9.2");
        assert.ok(outputs.privateKey instanceof SecretValue, "tls privateKeyOpenssh is an additionalSecretOutput");
        const nested = outputs.nested as Record<string, Resolved>;
        assert.strictEqual(nested.plain, "visible");
        assert.ok(nested.hidden instanceof SecretValue, "random password result is secret");
        assert.ok(!("unset" in outputs));
        const masked = JSON.parse(formatStackOutputs(outputs, false));
        assert.strictEqual(masked.privateKey, "[secret]");
        assert.deepStrictEqual(masked.nested, { hidden: "[secret]", list: [1, "10.213.9.2"], plain: "visible" });
        assert.deepStrictEqual(Object.keys(masked), ["ip", "last", "nested", "price", "privateKey"]);
        const shown = JSON.parse(formatStackOutputs(outputs, true));
        assert.strictEqual(shown.nested.hidden, "P4ssw0rdFromFake");
        assert.match(shown.privateKey, /BEGIN OPENSSH PRIVATE KEY/);
    });

    it("fails the failed command, lets the independent one finish, and never starts what depends on it", () => {
        const { run, status } = runFake({ FAKE_DELAY: "0.3", FAKE_FAIL: "b" });
        assert.strictEqual(run.ok, false);
        assert.strictEqual(status, 3);
        assert.match(run.error!, /ws-b \(command:remote:Command\): ws-b: exit 3: boom in b/);
        assert.deepStrictEqual(run.execs.map((e) => e.stage).sort(), ["a", "b", "c"]);
        assert.ok(run.events.includes("stage-end ws-c true"));
        assert.ok(!run.events.some((e) => /^stage-\w+ ws-d\b/.test(e)), JSON.stringify(run.events));
    });
});

describe("local runner pieces", () => {
    it("unwraps secret markers at any depth", () => {
        const wrap = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value });
        assert.deepStrictEqual(unwrapSecrets(wrap({ host: "h", privateKey: wrap("k"), list: [wrap(1)] })), { host: "h", privateKey: "k", list: [1] });
    });

    it("reads the last timing line of a stage's stdout", () => {
        const out = 'x\n::workstation-timing:: {"stage":"a","seconds":1}\n::workstation-timing:: {"stage":"a","seconds":2}\n';
        assert.deepStrictEqual(parseMarkerLine(out, "::workstation-timing::"), { stage: "a", seconds: 2 });
        assert.strictEqual(parseMarkerLine("nothing", "::workstation-timing::"), undefined);
    });

    describe("npm run local arguments", () => {
        const stacks = ["dev", "prod", "staging"];
        it("defaults to a fresh host named after the dev stack", () => {
            assert.deepStrictEqual(parseArgs([], stacks), { mode: "up", stack: "dev", name: "ws-dev", showSecrets: false, verbose: false, standin: true });
        });
        it("accepts --flag value and --flag=value", () => {
            const o = parseArgs(["--stack=staging", "--name", "box1", "--show-secrets"], stacks);
            assert.deepStrictEqual([o.stack, o.name, o.showSecrets], ["staging", "box1", true]);
            assert.deepStrictEqual(parseArgs(["--reuse", "box1"], stacks).mode, "reuse");
        });
        it("stops, starts and destroys a named host", () => {
            assert.deepStrictEqual(
                ["--stop", "--start", "--destroy", "--down"].map((f) => {
                    const o = parseArgs([f, "box1"], stacks);
                    return [o.mode, o.name];
                }),
                [
                    ["stop", "box1"],
                    ["start", "box1"],
                    ["destroy", "box1"],
                    ["down", "box1"],
                ],
            );
        });
        const bad: [string[], RegExp][] = [
            [["--stack", "qa"], /--stack "qa": no Pulumi\.qa\.yaml; allowed: dev, prod, staging/],
            [["--stack"], /--stack needs a value: one of dev, prod, staging/],
            [["--name", "Has_Caps"], /--name "Has_Caps": a host name is 1 to 10 characters of a-z, 0-9 and '-'/],
            [["--reuse", "waytoolongname"], /--reuse "waytoolongname": a host name is 1 to 10/],
            [["--fast"], /unknown option "--fast"; allowed: --stack, --name, --reuse, --stop, --start, --down, --destroy, --set, --show-secrets/],
            [["--set", "role"], /--set "role": expected KEY=VALUE, such as role=image/],
            [["--verbose=yes"], /--verbose takes no value, got "yes"/],
            [["--down", "a", "--down-all"], /--down and --down-all cannot be combined/],
            [["--reuse", "a", "--name", "b"], /--name names a new host; with --reuse NAME the host is NAME/],
            [["--stop", "a", "--name", "b"], /--name names a new host; with --stop NAME the host is NAME/],
            [["--stop", "a", "--start", "a"], /--stop and --start cannot be combined/],
            [["--destroy", "Big_Name"], /--destroy "Big_Name": a host name is 1 to 10/],
        ];
        for (const [argv, message] of bad) {
            it(`refuses ${argv.join(" ")} naming the flag, the value and what is allowed`, () => {
                assert.throws(
                    () => parseArgs(argv, stacks),
                    (err: unknown) => err instanceof UsageError && message.test(err.message),
                );
            });
        }
    });
});

describe("end-to-end text checks", () => {
    // Imported here so that a mistake in them shows without a host.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { lockTrouble, secretsIn } = require("../e2e/checks") as typeof import("../e2e/checks");

    it("lets apt wait for the dpkg lock but flags failing on it and retrying", () => {
        const waited = "Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 1364 (apt-get)...\nSetting up code";
        assert.deepStrictEqual(lockTrouble(waited), []);
        assert.deepStrictEqual(lockTrouble("E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 7"), [
            "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 7",
        ]);
        assert.deepStrictEqual(lockTrouble("[ide-cursor] warning: apt lock busy (attempt 1): retrying"), [
            "[ide-cursor] warning: apt lock busy (attempt 1): retrying",
        ]);
    });

    it("finds the key body even when wrapped differently, and the password", () => {
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAABBBBCCCCDDDDEEEE\nFFFFGGGGHHHHIIII\n-----END OPENSSH PRIVATE KEY-----\n";
        assert.deepStrictEqual(secretsIn("nothing here", key, "hunter2hunter2"), []);
        assert.deepStrictEqual(secretsIn("x AAAABBBBCC\nCCDDDDEEEEFFFF\nGGGGHHHHIIII y", key, "hunter2hunter2"), ["the private key body"]);
        assert.deepStrictEqual(secretsIn("FFFFGGGGHHHHIIII and hunter2hunter2", key, "hunter2hunter2"), ["1 line(s) of the private key", "the password"]);
    });
});

describe("test host choice", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { gatewayFor, nextFreeIndex, standinIdeSources } = require("../../tools/local/hostChoice") as typeof import("../../tools/local/hostChoice");

    it("takes the lowest index that neither a running host nor another state dir's veth holds", () => {
        assert.strictEqual(
            nextFreeIndex([], () => false),
            1,
        );
        assert.strictEqual(
            nextFreeIndex([{ index: 1 }, { index: 3 }], (i) => i === 2),
            4,
        );
        assert.throws(() => nextFreeIndex([], () => true), /no free test host index \(1-254\)/);
    });

    it("points every IDE at the stand-in repository on the host's gateway", () => {
        assert.strictEqual(gatewayFor(7), "10.213.7.1");
        const sources = standinIdeSources(7);
        assert.deepStrictEqual(Object.keys(sources).sort(), ["antigravity", "cursor", "vscode"]);
        for (const s of Object.values(sources)) {
            assert.ok(s.repoUrl.startsWith("http://10.213.7.1:"), s.repoUrl);
            assert.ok(s.keyUrl.startsWith("http://10.213.7.1:"), s.keyUrl);
        }
    });
});

describe("failure summary", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { failureSummary } = require("../../tools/local/run") as typeof import("../../tools/local/run");

    it("keeps each failed resource's headline and drops the output tails", () => {
        const error = [
            "2 resource(s) failed:",
            "ws-system-prep (command:remote:Command): ws-system-prep: sudo -n bash -s exited with code 1 on dev@10.213.1.2",
            "--- stdout (tail) ---",
            "something the stage printed",
            "--- stderr (tail) ---",
            "more of it",
            'ws-droplet (digitalocean:index/droplet:Droplet): local runner: ws-droplet: size "x" is not in data/do-sizes.json',
        ].join("\n");
        assert.strictEqual(
            failureSummary(error),
            [
                "2 resource(s) failed:",
                "  ws-system-prep (command:remote:Command): ws-system-prep: sudo -n bash -s exited with code 1 on dev@10.213.1.2",
                '  ws-droplet (digitalocean:index/droplet:Droplet): local runner: ws-droplet: size "x" is not in data/do-sizes.json',
            ].join("\n"),
        );
    });

    it("shows the start of an error that names no resource (the program threw)", () => {
        assert.strictEqual(
            failureSummary("the program threw while running: invalid workstation configuration:\n  - workstation:size: bad"),
            "the program threw while running: invalid workstation configuration:\n  - workstation:size: bad",
        );
    });
});
