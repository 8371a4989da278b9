// Stop and start on the local target (issue 13): provision the dev stack with its home
// volume, leave a file and an IDE settings file in the user's home, stop (running: false:
// the test host goes, the volume stays, still behind its loop device), start (running: true: a new test host, the same volume attached), and check the
// files kept their owner, the same key and password log in, and the workstation passes the
// same checks as the first one. Needs root; host names wslc-NNNN are this suite's own.
import * as assert from "assert";
import { shellQuote } from "../../components/stageScript";
import { echoIndented, runTracked, stopActiveRunner } from "../../tools/shared/runnerProcess";
import * as path from "path";
import type { RunRecord } from "../../tools/local/programRun";
import { decodeResolved, toPlain } from "../../tools/local/outputs";
import { HostState, stackVolumeFiles, volumeOwner } from "../../tools/local/runnerState";
import { sshExec, tryPasswordLogin } from "../../tools/local/sshExec";
import { clearLeftoverHosts, listHosts, stopHost, suiteRunAlive } from "../../tools/local/testHost";
import { destroyVolume, loopDevicesOf } from "../../tools/local/volume";
import { WORKSTATION_GID, WORKSTATION_UID } from "../../components/homeVolume";

const HOST = `wslc-${String(process.pid % 10000).padStart(4, "0")}`;
const STACK = "dev";

function runner(args: string[]): Promise<{ code: number; output: string }> {
    return runTracked(args, echoIndented).then(({ code, output }) => ({ code: code ?? 1, output }));
}

interface Run {
    code: number;
    record: RunRecord;
    outputs: Record<string, unknown>;
}

async function run(args: string[]): Promise<Run> {
    const started = Date.now();
    const { code } = await runner(args);
    const record = new HostState(HOST).readRun<RunRecord>();
    assert.ok(record && record.startedAt >= started, `the runner (exit ${code}) left no run record for ${HOST}`);
    return { code, record, outputs: toPlain(decodeResolved(record.outputs), true) as Record<string, unknown> };
}

describe(`stop and start on a local test host (${HOST})`, function () {
    this.timeout(15 * 60 * 1000);
    const state = new HostState(HOST);
    let first: Run;
    let stopped: Run;
    let started: Run;
    let volume: string;
    let loopsWhileStopped: string[];
    let hostsWhileStopped: string[];
    const asUser = async (ip: string, script: string, key = state.readSecrets().keys["ws-key"].privateKeyOpenssh): Promise<string> =>
        (await sshExec({ host: ip, user: "dev", privateKey: key }, { command: "bash -s", stdin: `set -euo pipefail\n${script}\n`, dialErrorLimit: 3 })).stdout;

    before(async function () {
        // Three runner runs: a provisioning, a stop and a start (itself a provisioning).
        this.timeout(40 * 60 * 1000);
        // A run of this suite killed before its `after` left its host wslc-NNNN, which would
        // still hold the dev stack's volume: stop those whose mocha is gone, with their state.
        const left = await clearLeftoverHosts((name) => /^wslc-\d{4}$/.test(name) && name !== HOST && !suiteRunAlive(name));
        for (const name of left) new HostState(name).remove();
        // This suite is the only user of the dev stack's volume in this worktree while it runs:
        // a volume left by another run would hand it an old /home.
        for (const file of stackVolumeFiles(STACK)) {
            const owner = volumeOwner(file);
            if (owner !== undefined && (await listHosts()).some((h) => h.name === owner)) {
                throw new Error(`the ${STACK} stack's volume ${file} is attached to running test host ${owner}; stop it first`);
            }
            destroyVolume(file);
        }
        first = await run(["--name", HOST, "--stack", STACK]);
        assert.strictEqual(first.code, 0, `first run: ${first.record.error ?? ""}`);
        const ip = first.record.host!.ip;
        await asUser(
            ip,
            [
                "echo 'kept across a stop' >~/notes.txt",
                "mkdir -p ~/.config/Code/User",
                "echo '{\"editor.fontSize\": 15}' >~/.config/Code/User/settings.json",
            ].join("\n"),
        );
        volume = stackVolumeFiles(STACK)[0];
        stopped = await run(["--stop", HOST]);
        hostsWhileStopped = (await listHosts()).map((h) => h.name);
        loopsWhileStopped = loopDevicesOf(volume);
        started = await run(["--start", HOST]);
    });

    after(async () => {
        stopActiveRunner();
        await stopHost(HOST);
        for (const file of stackVolumeFiles(STACK)) if (volumeOwner(file) === HOST) destroyVolume(file);
        state.remove();
    });

    it("provisions with the home volume: a loop-backed file kept for the stack, attached to the host", () => {
        assert.strictEqual(first.outputs.state, "running");
        assert.ok(
            first.record.stages.some((s) => s.stage === "home-volume" && s.ok),
            "the home-volume stage ran",
        );
        assert.strictEqual(path.basename(volume), "workstation-dev-home.img");
    });

    it("exports the first up as a start and its time to ready, measured by the program", () => {
        const lifecycle = first.outputs.lifecycle as { state: string; action: string; readySeconds: number };
        assert.strictEqual(lifecycle.state, "running");
        assert.strictEqual(lifecycle.action, "start");
        const whole = (first.record.endedAt - first.record.startedAt) / 1000;
        assert.ok(lifecycle.readySeconds > 0 && lifecycle.readySeconds <= whole, `readySeconds ${lifecycle.readySeconds}, the program ran ${whole} s`);
    });

    it("stop removes the test host and keeps the volume, keys and password", () => {
        assert.strictEqual(stopped.code, 0, stopped.record.error ?? "");
        assert.strictEqual(stopped.outputs.state, "stopped");
        assert.deepStrictEqual(stopped.record.stages, [], "no stage runs while stopped");
        assert.ok(!hostsWhileStopped.includes(HOST), `test host ${HOST} still runs after the stop`);
        assert.strictEqual(loopsWhileStopped.length, 1, "the volume stays behind its loop device while stopped (losetup shows it on its file)");
        assert.ok(stackVolumeFiles(STACK).includes(volume), "the volume file is kept");
        assert.ok(state.exists(), "keys and password are kept");
        assert.ok((stopped.record.lifecycle?.stopSeconds ?? -1) > 0, "the stop is timed");
        assert.deepStrictEqual(stopped.outputs.lifecycle, { state: "stopped", monthlyCost: 2 });
        assert.ok(typeof stopped.outputs.startCommand === "string");
    });

    it("start boots a new host with the same volume, and it is ready", () => {
        assert.strictEqual(started.code, 0, started.record.error ?? "");
        assert.strictEqual(started.outputs.state, "running");
        assert.notStrictEqual(started.record.host!.pid, first.record.host!.pid, "a new test host");
        assert.deepStrictEqual(loopDevicesOf(volume), loopsWhileStopped, "the same loop device, attached to the new host");
        assert.strictEqual(volumeOwner(volume), HOST);
        assert.ok((started.record.lifecycle?.startSeconds ?? -1) > 0, "the start is timed");
        // The program's own measure of the start, exported like the stages' timings.
        const lifecycle = started.outputs.lifecycle as { state: string; action: string; readySeconds: number };
        assert.strictEqual(lifecycle.action, "start", "a new droplet: this up started the workstation");
        assert.ok(
            lifecycle.readySeconds > 0 && lifecycle.readySeconds <= started.record.lifecycle!.startSeconds!,
            `readySeconds ${lifecycle.readySeconds} within the runner's ${started.record.lifecycle!.startSeconds} s`,
        );
    });

    it("the files are there with the workstation user's fixed owner", async () => {
        const out = await asUser(
            started.record.host!.ip,
            "cat ~/notes.txt ~/.config/Code/User/settings.json; stat -c '%u:%g' ~/notes.txt ~/.config/Code/User/settings.json; mountpoint /home",
        );
        const lines = out.trim().split("\n");
        assert.deepStrictEqual(lines.slice(0, 4), [
            "kept across a stop",
            '{"editor.fontSize": 15}',
            `${WORKSTATION_UID}:${WORKSTATION_GID}`,
            `${WORKSTATION_UID}:${WORKSTATION_GID}`,
        ]);
        assert.strictEqual(lines[4], "/home is a mountpoint", "/home is the volume");
    });

    it("the user logs in with the same key, and the same password is set (the shadow hash matches it)", async () => {
        const ip = started.record.host!.ip;
        assert.strictEqual((await asUser(ip, "id -un")).trim(), "dev");
        const password = Object.values(state.readSecrets().passwords)[0];
        // As the e2e checks it: the shadow entry matches the kept password (perl-base is always there).
        const quoted = shellQuote(password);
        const match = await asUser(
            ip,
            `PW=${quoted} sudo -n --preserve-env=PW perl -e '$h = (getpwnam("dev"))[1]; print crypt($ENV{PW}, $h) eq $h ? "match" : "differ"'`,
        );
        assert.strictEqual(match, "match", "the kept password is not the user's password on the new host");
        const attempt = await tryPasswordLogin(ip, 22, "dev", password);
        assert.strictEqual(attempt.outcome, "refused", "harden refuses password logins over SSH, as on the first host");
    });

    it("records activity for stop-idle on the new host, this session included", async () => {
        const { parseActivity } = await import("../../tools/deploy/idle");
        const out = await asUser(
            started.record.host!.ip,
            "systemctl is-active workstation-activity.timer; sudo -n /usr/local/lib/workstation/record-activity; cat /var/lib/workstation/activity.json; date +%s",
        );
        const [timer, json, now] = out.trim().split("\n");
        assert.strictEqual(timer, "active");
        const activity = parseActivity(json);
        assert.ok(Math.abs(activity.updatedAt - Number(now)) <= 5, json);
        assert.ok(Number(now) - activity.lastActiveAt < 15 * 60, `the host was provisioned minutes ago, yet idle since ${activity.lastActiveAt}: ${json}`);
    });

    it("passes every check the first host passed", () => {
        const names = (r: Run) =>
            r.record.stages
                .filter((s) => s.ok)
                .map((s) => s.stage)
                .sort();
        assert.deepStrictEqual(names(started), names(first), "the same stages succeed");
        const checks = (r: Run) => r.outputs.verification as { ok: boolean; checks: { name: string; ok: boolean }[] };
        assert.strictEqual(checks(started).ok, true, JSON.stringify(checks(started)));
        assert.deepStrictEqual(checks(started).checks, checks(first).checks);
    });
});
