// The offline plan, run as CI runs it: a child process per stack, judged by exit code and output.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { schedule } from "../../tools/plan/schedule";
import { dropletMonthlyCost, sizeOf, usd } from "../../policies/shared";

const ROOT = path.join(__dirname, "..", "..");

function plan(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    // The plan sets the program's config itself; nothing may leak in from the caller.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PULUMI_")));
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "tools/plan/index.ts", ...args], {
        cwd: ROOT,
        encoding: "utf8",
        env,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let tmp: string;
function stackFile(name: string, text: string): string {
    const file = path.join(tmp, `Pulumi.${name}.yaml`);
    fs.writeFileSync(file, text);
    return file;
}

describe("npm run plan", function () {
    this.timeout(60000);
    before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plan-test-"))));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    for (const stack of ["dev", "staging", "prod"]) {
        it(`passes the ${stack} stack and prints its tree, stage graph, cost and verdicts`, () => {
            const { status, stdout, stderr } = plan("--stack", stack);
            assert.strictEqual(status, 0, stdout + stderr);
            const config = (YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> }).config;
            const size = String(config["workstation:size"] ?? "s-2vcpu-4gb");
            const row = sizeOf(size);
            assert.ok(row, `${size} is in the size table`);
            const cost = dropletMonthlyCost(row, config["workstation:backups"] === true);
            // The default 20 GiB home volume at $0.10 per GiB-month.
            assert.ok(stdout.includes("  ws-home  volume 20 GiB  $2.00\n"), stdout);
            assert.ok(stdout.includes(`  total ${usd(cost.base + cost.backups + 2)} a month`), stdout);
            assert.match(stdout, /└─ workstation:index:Workstation {2}ws\n/);
            assert.match(stdout, /critical path \(ws\): wait-ready → home-volume → system-prep → .* → verify → harden → report = /);
            assert.match(stdout, /ok {4}mandatory {2}verify-after-install-stages \(stack\)/);
            assert.match(stdout, /ok {4}mandatory {2}remote-command-secrets-not-logged \(11 resources\)/);
            assert.match(stdout, /\nOK: no mandatory violations, \d+ advisory\.\n$/);
        });
    }

    it("fails a stack file that breaks a mandatory rule, with that rule's message", () => {
        const file = stackFile("small", "config:\n  workstation:size: s-1vcpu-1gb\n  workstation:tags: [owner:alice]\n");
        const { status, stdout } = plan("--stack-file", file);
        assert.strictEqual(status, 1, stdout);
        assert.ok(stdout.includes(`Plan for stack small (`), stdout);
        assert.ok(
            stdout.includes(
                "  FAIL  mandatory  droplet-size-minimum (1 resource)\n" +
                    '          Droplet "ws-droplet" size "s-1vcpu-1gb" has 1024 MB of memory, under the desktop\'s minimum of 2048 MB. [ws-droplet]\n',
            ),
            stdout,
        );
        assert.match(stdout, /\nFAILED: 1 mandatory violation, \d+ advisory\.\n$/);
    });

    it("treats a prod-* stack as prod: SSH open to the world fails", () => {
        const file = stackFile("prod-eu", "config:\n  workstation:region: fra1\n  workstation:tags: [owner:alice]\n  workstation:backups: true\n");
        const { status, stdout } = plan("--stack-file", file);
        assert.strictEqual(status, 1, stdout);
        assert.ok(
            stdout.includes(
                'Firewall "ws-firewall" opens SSH (tcp 22) to 0.0.0.0/0, ::/0 in a prod stack: restrict sourceAddresses to the CIDRs you connect from. [ws-firewall]',
            ),
            stdout,
        );
    });

    it("counts a stopped stack at its volume's price, with no droplet and no stage", () => {
        const file = stackFile("parked", "config:\n  workstation:tags: [owner:alice]\n  workstation:running: false\n  workstation:homeVolumeGb: 50\n");
        const { status, stdout } = plan("--stack-file", file);
        assert.strictEqual(status, 0, stdout);
        assert.match(stdout, /digitalocean:index\/volume:Volume {2}ws-home\n/);
        assert.ok(!stdout.includes("digitalocean:index/droplet:Droplet"), stdout);
        assert.ok(!stdout.includes("command:remote:Command"), stdout);
        assert.ok(stdout.includes("  ws-home  volume 50 GiB  $5.00\n  total $5.00 a month\n"), stdout);
        assert.ok(stdout.includes("Lifecycle: stopped (no droplet): $5.00 a month, the home volume; start with workstation:running true\n"), stdout);
    });

    it("advises an idle stop for a running stack outside prod that has none, and not for prod", () => {
        const file = stackFile("forever", "config:\n  workstation:tags: [owner:alice]\n");
        const { stdout } = plan("--stack-file", file);
        assert.ok(
            stdout.includes("Lifecycle: running; stopped it would cost $2.00 a month (the home volume); it never stops by itself (idleStopMinutes 0)\n"),
            stdout,
        );
        assert.match(
            stdout,
            /WARN {2}advisory {3}droplet-idle-stop-outside-prod \(1 resource\)\n {10}Droplet "ws-droplet" runs outside prod with no idle stop \(idleStopMinutes 0\)/,
        );
        const dev = plan("--stack", "dev").stdout;
        assert.match(dev, /ok {4}advisory {3}droplet-idle-stop-outside-prod \(1 resource\)\n/);
        assert.ok(dev.includes("; stop-idle stops it after 120 idle minutes\n"), dev);
        const prod = plan("--stack", "prod").stdout;
        assert.ok(
            prod.includes("Lifecycle: running; stopped it would cost $2.00 a month (the home volume); it never stops by itself (idleStopMinutes 0)\n"),
            prod,
        );
        assert.ok(!prod.includes("droplet-idle-stop-outside-prod (1 resource)"), prod);
    });

    it("applies a policy config file: a budget made mandatory fails dev", () => {
        const config = path.join(tmp, "policy.json");
        fs.writeFileSync(config, JSON.stringify({ "monthly-cost-budget": { enforcementLevel: "mandatory", monthlyBudgetUsd: 10 } }));
        const { status, stdout } = plan("--stack", "dev", "--policy-config", config);
        assert.strictEqual(status, 1, stdout);
        assert.ok(stdout.includes(`policy config: ${path.relative(ROOT, config)}`), stdout);
        assert.match(
            stdout,
            /FAIL {2}mandatory {2}monthly-cost-budget \(stack\)\n {10}Estimated monthly cost \$\d+\.\d\d \(ws-droplet .*\) is over the budget of \$10\.00\.\n/,
        );
    });

    it("names the stack file when the stack is unknown", () => {
        const { status, stderr } = plan("--stack", "nope");
        assert.strictEqual(status, 2);
        assert.match(
            stderr,
            new RegExp(`^plan: unknown stack "nope": ${path.join(ROOT, "Pulumi.nope.yaml").replace(/[.]/g, "\\.")} does not exist \\(stacks: .*dev.*\\)\n$`),
        );
    });

    it("names the file and the line of malformed YAML", () => {
        const file = stackFile("broken", "config:\n  workstation:size: s-2vcpu-4gb\n  workstation:region: [fra1\n");
        const { status, stderr } = plan("--stack-file", file);
        assert.strictEqual(status, 2);
        assert.ok(stderr.startsWith(`plan: ${file}: not valid YAML (line `), stderr);
    });

    it("says what is wrong with a stack file whose config is not a mapping", () => {
        const file = stackFile("list", "config:\n  - workstation:size\n");
        const { status, stderr } = plan("--stack-file", file);
        assert.strictEqual(status, 2);
        assert.strictEqual(stderr, `plan: ${file}: "config" must be a mapping of key: value, got a list\n`);
    });

    it("passes on the program's own config errors, naming the file and the key", () => {
        const file = stackFile("typo", "config:\n  workstation:sise: s-2vcpu-4gb\n");
        const { status, stderr } = plan("--stack-file", file);
        assert.strictEqual(status, 2);
        assert.ok(stderr.startsWith(`plan: ${file}: the program rejected this stack's config:\n`), stderr);
        assert.ok(stderr.includes("workstation:sise: unknown key"), stderr);
    });

    it("rejects a policy config with an unknown policy, naming the file", () => {
        const config = path.join(tmp, "bad-policy.json");
        fs.writeFileSync(config, JSON.stringify({ "no-such-policy": "mandatory" }));
        const { status, stderr } = plan("--stack", "dev", "--policy-config", config);
        assert.strictEqual(status, 2);
        assert.ok(stderr.startsWith(`plan: ${config}: invalid policy config:\n  - unknown policy "no-such-policy"`), stderr);
    });

    it("prints usage without a stack", () => {
        const { status, stderr } = plan();
        assert.strictEqual(status, 2);
        assert.ok(stderr.startsWith("plan: no stack given\nusage: npm run plan -- --stack <name>"), stderr);
    });
});

describe("the plan's schedule", () => {
    it("starts a stage when the last stage it waits for ends and follows the longest chain", () => {
        const s = schedule({ a: [], b: ["a"], c: ["a"], d: ["b", "c"] }, { a: 10, b: 30, c: 50, d: 5 });
        assert.deepStrictEqual(
            s.stages.map((x) => [x.stage, x.start, x.finish]),
            [
                ["a", 0, 10],
                ["b", 10, 40],
                ["c", 10, 60],
                ["d", 60, 65],
            ],
        );
        assert.deepStrictEqual([s.wallClock, s.sequential, s.criticalPath], [65, 95, ["a", "c", "d"]]);
    });
    it("refuses a cycle", () => {
        assert.throws(() => schedule({ a: ["b"], b: ["a"] }, {}), /the stage graph has a cycle through a/);
    });
});
