// `npm run deploy -- stop-idle` with a fake stack provider and fake hosts: what it reads,
// what it stops, whom it warns, and what it reports without stopping.
import * as assert from "assert";
import { parseArgs, UsageError } from "../../tools/deploy/args";
import { main } from "../../tools/deploy/driver";
import { Activity, HostTarget, IdleHosts, decide, hostKeyFromKnownHosts, parseActivity } from "../../tools/deploy/idle";
import { FakeStacks, fakeDeps } from "./fakes";

const NOW = 1_800_000_000;
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheDevStack";

function outputs(ip: string): Record<string, unknown> {
    return { state: "running", ipv4Address: ip, username: "dev", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nKEY\n", knownHosts: `${ip} ${HOST_KEY}` };
}

function activity(idleMinutes: number, extra: Partial<Activity> = {}): string {
    return JSON.stringify({
        updatedAt: NOW - 30,
        lastActiveAt: NOW - idleMinutes * 60,
        reason: "ssh",
        sessions: { ssh: 0, xrdp: 0 },
        cpuPercent: 1,
        warnedAt: null,
        ...extra,
    });
}

/** Hosts by address: an activity record, or the error reaching it gives. */
class FakeHosts implements IdleHosts {
    readonly reads: HostTarget[] = [];
    readonly warnings: { host: string; message: string }[] = [];
    constructor(private readonly records: Record<string, string | Error>) {}
    async read(target: HostTarget): Promise<{ text: string; now: number }> {
        this.reads.push(target);
        const r = this.records[target.host];
        if (r === undefined || r instanceof Error) throw r ?? new Error(`connect ECONNREFUSED ${target.host}:22`);
        return { text: r, now: NOW };
    }
    async warn(target: HostTarget, message: string): Promise<void> {
        this.warnings.push({ host: target.host, message });
    }
}

const DEV = "config:\n  workstation:region: nyc3\n  workstation:idleStopMinutes: 120\n";

async function run(argv: string[], hosts: FakeHosts, setup: (stacks: FakeStacks) => void = () => undefined, files: Record<string, string> = {}) {
    const stacks = new FakeStacks();
    stacks.up = async () => ({ outputs: { state: "stopped" } });
    setup(stacks);
    const deps = { ...fakeDeps(stacks, { "Pulumi.dev.yaml": DEV, ...files }), idleHosts: hosts };
    const code = await main(argv, deps);
    return { code, stacks, lines: deps.lines };
}

describe("stop-idle", () => {
    it("stops a stack idle past its idleStopMinutes: running false in its config, then up with the policy pack", async () => {
        const hosts = new FakeHosts({ "10.213.7.2": activity(130) });
        const { code, stacks, lines } = await run(["stop-idle", "--stack", "dev"], hosts, (s) => s.outputsOf.set("dev", outputs("10.213.7.2")));
        assert.strictEqual(code, 0, lines.join("\n"));
        assert.deepStrictEqual(
            hosts.reads,
            [{ host: "10.213.7.2", user: "dev", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nKEY\n", hostKey: HOST_KEY }],
            "read with the stack's own key and pinned host key",
        );
        assert.deepStrictEqual(
            stacks.ops("setConfigValue").map((c) => c.config),
            [{ "workstation:running": "false" }],
        );
        assert.deepStrictEqual(
            stacks.ops("up").map((c) => [c.stack, c.options?.policyPacks]),
            [["dev", ["/repo/policies"]]],
        );
        assert.ok(
            lines.some((l) => /^\[dev\] stopped: idle 130 min \(limit 120\): running false, up done in \d+\.\d s \(state stopped\)$/.test(l)),
            lines.join("\n"),
        );
        assert.ok(
            lines.includes(
                "[dev] Pulumi.dev.yaml now has workstation:running: false: commit it (the stop-idle workflow does), " +
                    "or the next deploy of the repository starts the workstation again",
            ),
            lines.join("\n"),
        );
    });

    it("stops a fleet stack with its whole fleet config and running false (its up needs no local copy of the config)", async () => {
        const fleet = JSON.stringify([{ name: "alice", env: "dev", config: { size: "s-4vcpu-8gb" } }]);
        const hosts = new FakeHosts({ "10.213.7.2": activity(130) });
        const { code, stacks, lines } = await run(["stop-idle", "--fleet", "fleet.json"], hosts, (s) => s.outputsOf.set("dev-alice", outputs("10.213.7.2")), {
            "fleet.json": fleet,
        });
        assert.strictEqual(code, 0, lines.join("\n"));
        assert.deepStrictEqual(stacks.ops("setConfigValue"), []);
        assert.deepStrictEqual(
            stacks.ops("replaceConfig").map((c) => [c.stack, c.config]),
            [
                [
                    "dev-alice",
                    {
                        "workstation:region": "nyc3",
                        "workstation:idleStopMinutes": "120",
                        "workstation:size": "s-4vcpu-8gb",
                        "workstation:running": "false",
                    },
                ],
            ],
        );
        assert.deepStrictEqual(
            stacks.ops("up").map((c) => c.stack),
            ["dev-alice"],
        );
        assert.ok(!lines.some((l) => l.includes("commit it")), "a fleet stack's stop lives in its own config, not in a file to commit");
    });

    it("leaves an active stack alone", async () => {
        const hosts = new FakeHosts({ "10.213.7.2": activity(10) });
        const { code, stacks, lines } = await run(["stop-idle", "--stack", "dev"], hosts, (s) => s.outputsOf.set("dev", outputs("10.213.7.2")));
        assert.strictEqual(code, 0);
        assert.deepStrictEqual(stacks.ops("setConfigValue"), []);
        assert.deepStrictEqual(stacks.ops("up"), []);
        assert.ok(lines.includes("[dev] active: idle 10 of 120 min"), lines.join("\n"));
    });

    it("reports a host it cannot reach, never stops it, and exits 1", async () => {
        const hosts = new FakeHosts({});
        const { code, stacks, lines } = await run(["stop-idle", "--stack", "dev"], hosts, (s) => s.outputsOf.set("dev", outputs("127.0.0.1")));
        assert.strictEqual(code, 1);
        assert.deepStrictEqual(stacks.ops("up"), []);
        assert.deepStrictEqual(stacks.ops("setConfigValue"), []);
        assert.ok(lines.includes("[dev] unreachable: dev@127.0.0.1: connect ECONNREFUSED 127.0.0.1:22; not stopped"), lines.join("\n"));
    });

    it("honours a keep-alive touched into the future, and a stale record stops nothing", async () => {
        const keepAlive = activity(0, { lastActiveAt: NOW + 3 * 3600, reason: "keepalive" });
        assert.deepStrictEqual(decide(parseActivity(keepAlive), NOW, 120), { kind: "active", idleMinutes: 0 });
        const hosts = new FakeHosts({ "10.213.7.2": keepAlive, "10.213.8.2": activity(500, { updatedAt: NOW - 3600 }) });
        const { code, stacks, lines } = await run(["stop-idle", "--idle-minutes", "60"], hosts, (s) => {
            s.outputsOf.set("dev", outputs("10.213.7.2"));
            s.outputsOf.set("staging", outputs("10.213.8.2"));
            s.outputsOf.set("prod", { state: "stopped" });
        });
        assert.strictEqual(code, 1, "a stale record is reported as a failure to read");
        assert.deepStrictEqual(stacks.ops("up"), []);
        assert.ok(lines.includes("[dev] active: idle 0 of 60 min"), lines.join("\n"));
        assert.ok(lines.includes("[staging] unreachable: the activity record is 60 min old (the recorder is not running); not stopped"), lines.join("\n"));
        assert.ok(lines.includes("[prod] stopped-already: state is stopped"), lines.join("\n"));
    });

    it("warns a logged-in user first, and stops on a later run when nothing happened since", async () => {
        const hosts = new FakeHosts({ "10.213.7.2": activity(117, { sessions: { ssh: 1, xrdp: 0 } }) });
        const first = await run(["stop-idle", "--stack", "dev"], hosts, (s) => s.outputsOf.set("dev", outputs("10.213.7.2")));
        assert.strictEqual(first.code, 0);
        assert.deepStrictEqual(first.stacks.ops("up"), []);
        assert.strictEqual(hosts.warnings.length, 1);
        assert.match(hosts.warnings[0].message, /no activity for 117 min; it stops \(running: false\) at 120 min idle/);
        const later = new FakeHosts({ "10.213.7.2": activity(122, { sessions: { ssh: 1, xrdp: 0 }, warnedAt: NOW - 300 }) });
        const second = await run(["stop-idle", "--stack", "dev"], later, (s) => s.outputsOf.set("dev", outputs("10.213.7.2")));
        assert.deepStrictEqual(later.warnings, []);
        assert.deepStrictEqual(
            second.stacks.ops("up").map((c) => c.stack),
            ["dev"],
        );
    });

    it("skips a stack whose idleStopMinutes is 0 without reading its host", async () => {
        const hosts = new FakeHosts({});
        const { code, lines } = await run(["stop-idle", "--stack", "staging"], hosts);
        assert.strictEqual(code, 0);
        assert.deepStrictEqual(hosts.reads, []);
        assert.ok(lines.includes("[staging] off: idleStopMinutes is 0"));
    });

    it("refuses bad arguments and a bad record, naming what is allowed", () => {
        const bad: [string[], RegExp][] = [
            [["stop-idle", "--idle-minutes", "0"], /--idle-minutes "0" is not allowed: a whole number of minutes, 1 or more/],
            [["stop-idle", "--idle-minutes", "1.5"], /--idle-minutes "1.5" is not allowed/],
            [["stop-idle", "--stack", "dev", "--fleet", "f.yaml"], /--stack and --fleet exclude each other/],
            [["stop-idle", "--env", "dev"], /stop-idle: unknown option "--env"; allowed: --idle-minutes, --stack, --fleet/],
            [["stop-idle", "--stack"], /--stack needs a value: a stack name/],
        ];
        for (const [argv, message] of bad)
            assert.throws(
                () => parseArgs(argv, 10),
                (e: unknown) => e instanceof UsageError && message.test(e.message),
                argv.join(" "),
            );
        assert.deepStrictEqual(parseArgs(["stop-idle", "--idle-minutes=30", "--fleet", "f.yaml"], 10), {
            kind: "stop-idle",
            idleMinutes: 30,
            stack: undefined,
            fleetFile: "f.yaml",
        });
        assert.throws(() => parseActivity('{"updatedAt":1}'), /lacks updatedAt, lastActiveAt/);
        assert.throws(() => hostKeyFromKnownHosts("nonsense"), /is not "host type key"/);
    });
});
