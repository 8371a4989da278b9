import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { RunRecord } from "../../tools/local/programRun";
import { runFleet, reportFleet, DriverDeps } from "../../tools/deploy/driver";
import { fleetStackConfig, parseFleet, readStackFileConfig } from "../../tools/deploy/fleet";
import { encodeConfigValue, loadStackConfig } from "../../tools/shared/stackConfig";
import { hostIndexReserved, parseStackName, RunnerStackDeps, RunnerStackProvider, runnerSetArgs, upOutcome } from "../../tools/bench/runnerStacks";
import { fleetEnv, fleetFileText, fleetHostName, fleetSummary, memberRun, MEMBER_CONFIG } from "../../tools/bench/fleet";
import { CaseRun, checkResultsShape, METRICS, metricSamples } from "../../tools/bench/resultsShape";
import { evaluateThresholds, parseThresholds } from "../../tools/bench/threshold";
import { fleetSection, renderReport } from "../../tools/bench/table";

const ROOT = path.join(__dirname, "..", "..");

function stage(name: string, startedAt: number, endedAt: number, ok = true): RunRecord["stages"][number] {
    return {
        name: `ws-${name}`,
        stage: name,
        startedAt,
        endedAt,
        seconds: (endedAt - startedAt) / 1000,
        ok,
        stdout: "",
        stderr: "",
        dials: 1,
    } as RunRecord["stages"][number];
}

function record(host: string, startedAt: number, stages: RunRecord["stages"], extra: Partial<RunRecord> = {}): RunRecord {
    return {
        ok: stages.every((s) => s.ok),
        stack: "dev",
        hostName: host,
        reuse: false,
        startedAt,
        endedAt: Math.max(startedAt, ...stages.map((s) => s.endedAt)),
        outputs: {
            username: "dev",
            adminPassword: { "@secret": "pw" },
            timings: { stages: Object.fromEntries(stages.map((s) => [s.stage, { seconds: s.seconds, status: s.ok ? "ok" : "failed" }])), wallClockSeconds: 9 },
        },
        stages,
        recorded: [],
        ...extra,
    };
}

/** The repo's dev stack as the runner reads it (Pulumi.yaml defaults under Pulumi.dev.yaml). */
const DEV_BASE = loadStackConfig(ROOT, "dev").values;

/**
 * A machine of fake runners: each `npm run local -- --name H ...` is held until the test
 * finishes it (or finishes on its own after `autoMs`), then writes H's run record.
 */
class FakeMachine {
    readonly started: { args: string[]; stackName: string }[] = [];
    readonly records = new Map<string, RunRecord>();
    clock = 1_000_000;
    private readonly pending = new Map<string, (code: number) => void>();
    constructor(private readonly fail: Set<string> = new Set()) {}

    deps(): RunnerStackDeps {
        return {
            start: (args, stackName) => {
                this.started.push({ args, stackName });
                const host = args[1];
                if (args[0] === "--down") return { exited: Promise.resolve(0) };
                const exited = new Promise<number>((resolve) => this.pending.set(host, resolve));
                return { exited };
            },
            readRun: (host) => this.records.get(host),
            reserved: async () => undefined,
            baseConfig: () => DEV_BASE,
            now: () => this.clock,
        };
    }

    running(): string[] {
        return [...this.pending.keys()];
    }

    /** Ends host H's runner: its stages ran from `at` for 10 s (failing if H is in `fail`). */
    finish(host: string): void {
        const at = this.clock;
        const failed = this.fail.has(host);
        this.clock += 10_000;
        this.records.set(
            host,
            record(
                host,
                at,
                [stage("system-prep", at + 1000, at + 4000), stage("desktop", at + 4000, at + 10_000, !failed)],
                failed ? { error: "ws-desktop (command:remote:Command): exit 100\napt output" } : {},
            ),
        );
        const resolve = this.pending.get(host)!;
        this.pending.delete(host);
        resolve(failed ? 1 : 0);
    }
}

async function turns(n = 50): Promise<void> {
    for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

function driverDeps(provider: RunnerStackProvider, lines: string[]): DriverDeps {
    return { repoRoot: ROOT, stacks: provider, readFile: () => undefined, env: {}, out: (l) => lines.push(l), stream: () => undefined };
}

function membersFor(hosts: string[]): { members: ReturnType<typeof parseFleet>; configs: Map<string, ReturnType<typeof fleetStackConfig>> } {
    const members = parseFleet(fleetFileText(hosts, "dev"), "bench-fleet.json");
    const envConfig = readStackFileConfig(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"), "Pulumi.dev.yaml");
    return { members, configs: new Map(members.map((m) => [m.stackName, fleetStackConfig(envConfig, m)])) };
}

describe("bench fleet: the runner as the deploy driver's stack provider", () => {
    it("maps <env>-<name> stacks to the env's stack file and a test host, and refuses what cannot be one", () => {
        assert.deepStrictEqual(parseStackName("dev-bench-fl1"), { env: "dev", host: "bench-fl1" });
        assert.deepStrictEqual(parseStackName("prod-a"), { env: "prod", host: "a" });
        assert.throws(() => parseStackName("qa-bench-fl1"), {
            message: 'stack "qa-bench-fl1": the local target runs fleet stacks named <env>-<name> with env one of dev, staging, prod',
        });
        assert.throws(() => parseStackName("dev-bench-fleet-1"), {
            message:
                'stack "dev-bench-fleet-1": name "bench-fleet-1" cannot name a test host (1 to 10 characters of a-z, 0-9 and \'-\', starting with a letter or digit)',
        });
    });

    it("passes only what the member's config changes as --set, and refuses other namespaces and a shared home volume", () => {
        const { configs } = membersFor(["bench-fl1"]);
        const config = configs.get("dev-bench-fl1")!;
        assert.deepStrictEqual(runnerSetArgs("dev-bench-fl1", config, DEV_BASE), ["--set", "homeVolumeGb=0"]);
        assert.deepStrictEqual(runnerSetArgs("dev-x", { ...config, "workstation:ides": ["vscode"], "workstation:size": "s-4vcpu-8gb" }, DEV_BASE), [
            "--set",
            "size=s-4vcpu-8gb",
            "--set",
            "homeVolumeGb=0",
            "--set",
            'ides=["vscode"]',
        ]);
        assert.throws(() => runnerSetArgs("dev-x", { ...config, "digitalocean:region": "ams3" }, DEV_BASE), {
            message: 'stack dev-x: config digitalocean:region = "ams3": the local runner sets workstation:* keys only (npm run local -- --set KEY=VALUE)',
        });
        const withVolume = Object.fromEntries(Object.entries(config).filter(([k]) => k !== "workstation:homeVolumeGb"));
        assert.strictEqual(encodeConfigValue(DEV_BASE["workstation:homeVolumeGb"]), "20");
        assert.throws(() => runnerSetArgs("dev-x", withVolume, DEV_BASE), {
            message:
                "stack dev-x: workstation:homeVolumeGb is 20: on the local target the runner keeps volumes per stack file, so fleet members of one env would share one volume; give each member homeVolumeGb: 0",
        });
    });

    it("reads an up's outputs from this run's record, secrets revealed, and turns a failed or missing run into the stack's error", () => {
        const rec = record("bench-fl1", 2000, [stage("system-prep", 2100, 3000)]);
        const out = upOutcome({ stackName: "dev-bench-fl1", code: 0, launchedAt: 1500, record: rec });
        assert.strictEqual(out.outputs.adminPassword, "pw");
        assert.strictEqual(out.outputs.username, "dev");
        assert.throws(() => upOutcome({ stackName: "dev-bench-fl1", code: 0, launchedAt: 2500, record: rec }), {
            message: "stack dev-bench-fl1: runner exit 0 without a run record of this run",
        });
        assert.throws(() => upOutcome({ stackName: "dev-bench-fl1", code: 1, launchedAt: 1500, record: undefined }), {
            message: "stack dev-bench-fl1: runner exit 1 without a run record of this run",
        });
        const failed = record("bench-fl1", 2000, [stage("system-prep", 2100, 3000), stage("desktop", 3000, 4000, false)], {
            error: "ws-desktop: exit 100\nmore",
        });
        assert.throws(() => upOutcome({ stackName: "dev-bench-fl1", code: 1, launchedAt: 1500, record: failed }), {
            message: "stack dev-bench-fl1: runner exit 1, failed: desktop: ws-desktop: exit 100",
        });
        assert.throws(() => upOutcome({ stackName: "dev-bench-fl1", code: 3, launchedAt: 1500, record: rec }), {
            message: "stack dev-bench-fl1: runner exit 3: no error recorded",
        });
    });

    it("deploys through the driver's runFleet: runner per member, at most the driver's cap at once, one failure kept apart", async () => {
        const hosts = Array.from({ length: 7 }, (_, i) => fleetHostName(i + 1));
        const machine = new FakeMachine(new Set(["bench-fl3"]));
        const provider = new RunnerStackProvider(machine.deps());
        const { members, configs } = membersFor(hosts);
        const lines: string[] = [];
        const done = runFleet(members, configs, "up", 5, driverDeps(provider, lines));
        await turns();
        assert.deepStrictEqual(machine.running(), hosts.slice(0, 5), "five runners, the cap, and no more");
        assert.deepStrictEqual(machine.started[0], {
            args: ["--name", "bench-fl1", "--stack", "dev", "--set", "homeVolumeGb=0"],
            stackName: "dev-bench-fl1",
        });
        machine.finish("bench-fl3");
        await turns();
        assert.deepStrictEqual(machine.running(), ["bench-fl1", "bench-fl2", "bench-fl4", "bench-fl5", "bench-fl6"]);
        for (const h of ["bench-fl1", "bench-fl2", "bench-fl4", "bench-fl5", "bench-fl6"]) machine.finish(h);
        await turns();
        machine.finish("bench-fl7");
        const results = await done;
        assert.strictEqual(provider.peakInFlight, 5);
        assert.deepStrictEqual(
            results.map((r) => [r.stackName, r.ok]),
            hosts.map((h) => [`dev-${h}`, h !== "bench-fl3"]),
        );
        assert.strictEqual(results[2].error, "stack dev-bench-fl3: runner exit 1, failed: desktop: ws-desktop (command:remote:Command): exit 100");
        assert.deepStrictEqual(results[0].timings?.stages, [
            { stage: "system-prep", seconds: 3, status: "ok" },
            { stage: "desktop", seconds: 6, status: "ok" },
        ]);
        const report: string[] = [];
        assert.strictEqual(reportFleet(results, "up", { out: (l) => report.push(l) }), 1);
        assert.strictEqual(report[1], "fleet up: 6 succeeded, 1 failed");
        assert.ok(
            report.includes("  dev-bench-fl3: stack dev-bench-fl3: runner exit 1, failed: desktop: ws-desktop (command:remote:Command): exit 100"),
            report.join("\n"),
        );
    });

    it("refuses a member's config at replaceConfig, before its runner starts, and the others still run", async () => {
        const machine = new FakeMachine();
        const provider = new RunnerStackProvider(machine.deps());
        const { members, configs } = membersFor(["bench-fl1", "bench-fl2"]);
        configs.set("dev-bench-fl2", { ...configs.get("dev-bench-fl2")!, "workstation:homeVolumeGb": "10" });
        const done = runFleet(members, configs, "up", 5, driverDeps(provider, []));
        await turns();
        assert.deepStrictEqual(machine.running(), ["bench-fl1"]);
        machine.finish("bench-fl1");
        const results = await done;
        assert.deepStrictEqual(
            results.map((r) => r.ok),
            [true, false],
        );
        assert.match(results[1].error!, /^stack dev-bench-fl2: workstation:homeVolumeGb is 10: /);
    });

    it("destroys through the driver with npm run local -- --down per member", async () => {
        const machine = new FakeMachine();
        const { members, configs } = membersFor(["bench-fl1", "bench-fl2"]);
        const results = await runFleet(members, configs, "destroy", 5, driverDeps(new RunnerStackProvider(machine.deps()), []));
        assert.deepStrictEqual(
            results.map((r) => r.ok),
            [true, true],
        );
        assert.deepStrictEqual(
            machine.started.map((s) => s.args),
            [
                ["--down", "bench-fl1"],
                ["--down", "bench-fl2"],
            ],
        );
    });

    it("spaces runner launches: the next starts only once the previous host holds its index", async () => {
        const machine = new FakeMachine();
        const gates: (() => void)[] = [];
        const deps = { ...machine.deps(), reserved: () => new Promise<void>((r) => gates.push(r)) };
        const provider = new RunnerStackProvider(deps);
        const { members, configs } = membersFor(["bench-fl1", "bench-fl2"]);
        const done = runFleet(members, configs, "up", 5, driverDeps(provider, []));
        await turns();
        assert.deepStrictEqual(machine.running(), ["bench-fl1"]);
        assert.strictEqual(provider.peakInFlight, 2, "both ups are in flight; only the launch waits");
        gates[0]();
        await turns();
        assert.deepStrictEqual(machine.running(), ["bench-fl1", "bench-fl2"]);
        gates[1]();
        machine.finish("bench-fl1");
        machine.finish("bench-fl2");
        assert.deepStrictEqual(
            (await done).map((r) => r.ok),
            [true, true],
        );
    });

    it("sees a host's index as reserved only once its index file names a veth that exists", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-state-"));
        try {
            assert.strictEqual(hostIndexReserved("bench-fl1", dir), false);
            fs.mkdirSync(path.join(dir, "hosts", "bench-fl1"), { recursive: true });
            fs.writeFileSync(path.join(dir, "hosts", "bench-fl1", "index"), "254\n");
            assert.strictEqual(hostIndexReserved("bench-fl1", dir), fs.existsSync("/sys/class/net/wsth254"));
            fs.writeFileSync(path.join(dir, "hosts", "bench-fl1", "index"), "lo\n");
            assert.strictEqual(hostIndexReserved("bench-fl1", dir), false);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("bench fleet: case runs, summary and metrics", () => {
    const up = (host: string, calledAt: number, rec: RunRecord | undefined, code = 0) => ({
        stackName: `dev-${host}`,
        host,
        calledAt,
        launchedAt: calledAt + 500,
        endedAt: calledAt + 60_000,
        code,
        record: rec,
    });

    it("names hosts bench-fl<k>, writes a fleet file the driver accepts, and takes the env from --stack", () => {
        assert.strictEqual(fleetHostName(0), "bench-fl0");
        assert.strictEqual(fleetHostName(10), "bench-fl10");
        assert.deepStrictEqual(
            parseFleet(fleetFileText(["bench-fl1", "bench-fl2"], "dev"), "f.json").map((m) => [m.stackName, m.config]),
            [
                ["dev-bench-fl1", MEMBER_CONFIG],
                ["dev-bench-fl2", MEMBER_CONFIG],
            ],
        );
        assert.strictEqual(fleetEnv("staging"), "staging");
        assert.throws(() => fleetEnv("qa"), { message: '--stack "qa": the fleet case deploys <env>-<name> stacks; use dev, staging or prod' });
    });

    it("times a member from the driver's up to its last stage's end, and keeps a failure as a failed run", () => {
        const rec = record("bench-fl1", 12_000, [stage("system-prep", 13_000, 20_000), stage("report", 20_000, 40_000)]);
        const ok = memberRun(1, "bench-fl1", { stackName: "dev-bench-fl1", ok: true }, up("bench-fl1", 10_000, rec));
        assert.strictEqual(ok.ok, true);
        assert.strictEqual(ok.totalSeconds, 30);
        assert.strictEqual(ok.readySeconds, 28);
        assert.deepStrictEqual(ok.stages, { "system-prep": 7, report: 20 });
        const bad = record("bench-fl2", 12_000, [stage("system-prep", 13_000, 20_000, false)], { error: "ws-system-prep: exit 1" });
        const failed = memberRun(1, "bench-fl2", { stackName: "dev-bench-fl2", ok: false, error: "x" }, up("bench-fl2", 10_000, bad, 1));
        assert.strictEqual(failed.ok, false);
        assert.strictEqual(failed.totalSeconds, 0);
        assert.strictEqual(failed.error, "runner exit 1, failed: system-prep: ws-system-prep: exit 1");
        const refused = memberRun(1, "bench-fl3", { stackName: "dev-bench-fl3", ok: false, error: "stack dev-bench-fl3: refused\ndetail" }, undefined);
        assert.deepStrictEqual([refused.ok, refused.error, refused.totalSeconds], [false, "stack dev-bench-fl3: refused", 0]);
        const stale = memberRun(1, "bench-fl4", { stackName: "dev-bench-fl4", ok: false }, up("bench-fl4", 20_000, rec, 1));
        assert.deepStrictEqual([stale.ok, stale.error], [false, "runner exit 1 without a run record"]);
    });

    function members(times: (number | undefined)[], run = 1): CaseRun[] {
        return times.map((t, i) => ({
            run,
            host: fleetHostName(i + 1),
            ok: t !== undefined,
            error: t === undefined ? "runner exit 1" : undefined,
            totalSeconds: t ?? 0,
            stages: {},
            link: "none",
        }));
    }
    const single = (t: number, run = 1): CaseRun => ({ run, host: "bench-fl0", ok: true, totalSeconds: t, stages: {}, link: "none" });

    it("summarizes a repetition: failures, nearest-rank p50/p95/p99 of the members, p50 over the lone one, launch spread", () => {
        const ups = [0, 4000, 9000].map((t) => ({ calledAt: 1000, launchedAt: 1000 + t, endedAt: 200_000 + t }));
        const s = fleetSummary(1, members([300, 200, undefined, 250]), single(100), { concurrencyCap: 5, peakInFlight: 4, ups }, [
            "",
            "fleet up: 3 succeeded, 1 failed",
        ]);
        assert.deepStrictEqual(
            { ...s, driverReport: undefined },
            {
                run: 1,
                size: 4,
                concurrencyCap: 5,
                peakInFlight: 4,
                failures: 1,
                readySeconds: { n: 3, p50: 250, p95: 300, p99: 300 },
                singleSeconds: 100,
                fleetOverSingle: 2.5,
                launchSpreadSeconds: 9,
                wallClockSeconds: 208,
                memberConfig: { homeVolumeGb: 0 },
                driverReport: undefined,
            },
        );
        const allFailed = fleetSummary(1, members([undefined]), undefined, { concurrencyCap: 5, peakInFlight: 1, ups: [] }, []);
        assert.deepStrictEqual([allFailed.failures, allFailed.readySeconds, allFailed.fleetOverSingle], [1, undefined, undefined]);
    });

    it("derives the fleet metrics per repetition and fails the committed threshold on any failure", () => {
        const cases = {
            fleet: [...members([300, 200, 250]), ...members([400, undefined, 350], 2)],
            "fleet-single": [single(100), single(200, 2)],
        };
        const samples = metricSamples(cases);
        assert.deepStrictEqual(samples["fleet.failures"], [0, 1]);
        assert.deepStrictEqual(samples["fleet.ready.seconds"], [300, 200, 250, 400, 350]);
        assert.deepStrictEqual(samples["fleet.single.seconds"], [100, 200]);
        assert.deepStrictEqual(samples["fleet/single"], [2.5, 1.75]);
        const committed = JSON.parse(fs.readFileSync(path.join(ROOT, "tools", "bench", "thresholds.json"), "utf8")) as Record<string, string>;
        const fleetOnly = parseThresholds({ "fleet.failures": committed["fleet.failures"] }, Object.keys(METRICS));
        assert.deepStrictEqual(
            evaluateThresholds(fleetOnly, samples).map((o) => [o.expression, o.status]),
            [["max==0", "fail"]],
        );
        assert.deepStrictEqual(
            evaluateThresholds(fleetOnly, metricSamples({ fleet: members([300]), "fleet-single": [single(100)] })).map((o) => o.status),
            ["pass"],
        );
        assert.deepStrictEqual(
            evaluateThresholds(fleetOnly, metricSamples({})).map((o) => o.status),
            ["skipped"],
        );
    });

    it("checks the fleet section of the results file", () => {
        const summary = fleetSummary(1, members([300, 200]), single(100), { concurrencyCap: 5, peakInFlight: 2, ups: [] }, ["x"]);
        const doc = {
            schema: "workstation-bench/1",
            startedAt: "2026-01-01T00:00:00.000Z",
            finishedAt: "2026-01-01T00:10:00.000Z",
            command: "npm run bench -- --cases fleet",
            percentileMethod: "nearest rank",
            memoryMethod: "pss",
            ok: true,
            options: { runs: 1, cases: ["fleet"], keyRuns: 50, stack: "dev", fleet: 2 },
            cases: { fleet: members([300, 200]), "fleet-single": [single(100)] },
            fleet: [summary],
            metrics: {},
            thresholds: [],
        };
        assert.deepStrictEqual(checkResultsShape(JSON.parse(JSON.stringify(doc))), []);
        assert.deepStrictEqual(
            fleetSection(doc as unknown as Parameters<typeof fleetSection>[0])
                .split("\n")
                .slice(0, 5),
            [
                "### Fleet: 2 workstations at once through the deploy driver, time to ready in seconds",
                "",
                "| run | members | failures | at once (cap) | p50 | p95 | p99 | alone | fleet p50 / alone | launch spread | fleet wall clock |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
                "| 1 | 2 | 0 | 2 (5) | 200.0 | 300.0 | 300.0 | 100.0 | 2.00 | 0.0 | 0.0 |",
            ],
        );
        const report = renderReport(doc as unknown as Parameters<typeof renderReport>[0]);
        assert.match(report, /\| \*\*total\*\* \| \*\*200\.0 \/ 300\.0\*\* \| \*\*100\.0 \/ 100\.0\*\* \|/);
        assert.ok(!report.includes("Ratios of totals"), "a fleet-only report has no one-workstation ratios");
        assert.ok(report.includes("### Fleet: 2 workstations at once"));
        const bad = JSON.parse(
            JSON.stringify({ ...doc, fleet: [{ ...summary, peakInFlight: 6, readySeconds: { n: 2, p50: 300, p95: 200, p99: 300 }, driverReport: "x" }] }),
        );
        assert.deepStrictEqual(checkResultsShape(bad), [
            "fleet[0].peakInFlight: 6 above the cap 5",
            "fleet[0].readySeconds: needs n, p50 <= p95 <= p99",
            "fleet[0].driverReport: not a list of lines",
        ]);
    });
});
