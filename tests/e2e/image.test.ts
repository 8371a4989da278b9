// End to end, issue 14: an image stack baked on the local target (the unchanged program with
// role: image, through the runner), then a workstation booted from its snapshot id. The
// workstation passes the checks a fresh one does, and its install stages report `skipped`.
import * as assert from "assert";
import { startRunner } from "../../tools/shared/runnerProcess";
import * as fs from "fs";
import * as path from "path";
import type { RunRecord } from "../../tools/local/child";
import { decodeResolved, toPlain } from "../../tools/local/outputs";
import { HostState } from "../../tools/local/runnerState";
import { sshExec } from "../../tools/local/sshExec";
import { snapshotTarball, stopHost } from "../../tools/local/testHost";
import { lockTrouble, secretsIn } from "./checks";

// Names of this suite only (it may run beside the shared suites, never two of its own at once).
const BUILDER = "wsimgeb";
const WORKSTATION = "wsimgew";
const SKIPPED_FROM_IMAGE = ["wait-ready", "ide-vscode", "ide-cursor", "ide-antigravity", "monitor"];

function runner(args: string[]): Promise<{ code: number; output: string }> {
    return startRunner(args).exited.then(({ code, output }) => ({ code: code ?? 1, output }));
}

describe("a workstation from a baked image on the local target (boots two hosts)", function () {
    this.timeout(15 * 60 * 1000);
    let bake: { code: number; output: string; record: RunRecord };
    let ws: { code: number; output: string; record: RunRecord };
    let snapshotId = "";
    let ip = "";
    let key = "";
    let password = "";

    async function onHost(script: string): Promise<string> {
        return (await sshExec({ host: ip, user: "dev", privateKey: key }, { command: "sudo -n bash -s", stdin: `set -euo pipefail\n${script}\n`, dialErrorLimit: 3 })).stdout;
    }

    before(async () => {
        for (const name of [BUILDER, WORKSTATION]) await runner(["--down", name]);
        const b = await runner(["--name", BUILDER, "--stack", "dev", "--set", "role=image", "--set", `imageBake=e2e-${process.pid}`]);
        bake = { ...b, record: new HostState(BUILDER).readRun<RunRecord>()! };
        assert.strictEqual(b.code, 0, b.output.slice(-3000));
        const outputs = toPlain(decodeResolved(bake.record.outputs), true) as Record<string, unknown>;
        snapshotId = String(outputs.snapshotId);
        // No home volume here: that path is the lifecycle suite's. From this image it would need
        // e2fsprogs, which the minimal test image lacks and the install stages do not add, and
        // apt lists the generalised image no longer has (a gap noted for the image issue).
        const w = await runner(["--name", WORKSTATION, "--stack", "dev", "--set", `image=${snapshotId}`, "--set", "homeVolumeGb=0"]);
        ws = { ...w, record: new HostState(WORKSTATION).readRun<RunRecord>()! };
        assert.strictEqual(w.code, 0, w.output.slice(-3000));
        ip = ws.record.host!.ip;
        const secrets = new HostState(WORKSTATION).readSecrets();
        key = secrets.keys["ws-key"].privateKeyOpenssh;
        password = Object.values(secrets.passwords)[0];
    });

    after(async () => {
        for (const name of [BUILDER, WORKSTATION]) {
            await stopHost(name);
            new HostState(name).remove();
        }
        if (snapshotId && /^[0-9]+$/.test(snapshotId)) fs.rmSync(snapshotTarball(snapshotId), { force: true });
    });

    it("bakes with the install stages only and exports the snapshot and the versions in it", () => {
        assert.deepStrictEqual(bake.record.stages.map((s) => s.stage).sort(),
            ["desktop", "generalise", "ide-antigravity", "ide-cursor", "ide-vscode", "monitor", "system-prep", "wait-ready"]);
        const outputs = toPlain(decodeResolved(bake.record.outputs), true) as { contents: Record<string, string> };
        // Each IDE's first candidate the stand-in repository offers (Antigravity: the IDE, not the agent manager).
        for (const pkg of ["xfce4", "xrdp", "code", "cursor", "antigravity-ide"]) assert.match(outputs.contents[pkg], /^\S+$/, `${pkg} version`);
        assert.ok(fs.existsSync(snapshotTarball(snapshotId)), "the baked image is there");
    });

    it("runs every stage of the workstation from the image, and the install stages report skipped", () => {
        assert.strictEqual(ws.record.ok, true);
        const status = Object.fromEntries(ws.record.stages.map((s) => [s.stage, s.timing?.status]));
        assert.deepStrictEqual(Object.keys(status).sort(),
            ["desktop", "harden", "ide-antigravity", "ide-cursor", "ide-vscode", "monitor", "report", "system-prep", "verify", "wait-ready"]);
        for (const s of SKIPPED_FROM_IMAGE) assert.strictEqual(status[s], "skipped", s);
        const desktop = ws.record.stages.find((s) => s.stage === "desktop")!.timing!;
        assert.deepStrictEqual((desktop.steps ?? []).filter((s) => s.status !== "skipped").map((s) => s.name), ["xsession"], "only the user's own session file");
        const prep = ws.record.stages.find((s) => s.stage === "system-prep")!.timing!;
        assert.strictEqual((prep.steps ?? []).find((s) => s.name === "base-packages")!.status, "skipped");
    });

    it("passes verify: xrdp, each IDE, sudo", () => {
        const outputs = toPlain(decodeResolved(ws.record.outputs), true) as { verification: { ok: boolean; checks: { name: string; ok: boolean }[] } };
        assert.strictEqual(outputs.verification.ok, true);
        assert.ok(outputs.verification.checks.every((c) => c.ok), JSON.stringify(outputs.verification.checks));
    });

    it("leaves xrdp active and listening on 127.0.0.1:3389 only", async () => {
        assert.strictEqual((await onHost("systemctl is-active xrdp")).trim(), "active");
        assert.deepStrictEqual((await onHost("ss -Hltn 'sport = :3389' | awk '{print $4}' | sort -u")).trim().split("\n"), ["127.0.0.1:3389"]);
    });

    it("configures sshd for keys only and no root login, with this workstation's own host key", async () => {
        const settings = (await onHost("sshd -T | grep -E '^(passwordauthentication|permitrootlogin|kbdinteractiveauthentication) ' | sort")).trim().split("\n");
        assert.deepStrictEqual(settings, ["kbdinteractiveauthentication no", "passwordauthentication no", "permitrootlogin no"]);
        const hostKey = (await onHost("cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub")).trim();
        assert.strictEqual(hostKey, new HostState(WORKSTATION).readSecrets().keys["ws-hostkey"].publicKeyOpenssh.trim().split(" ").slice(0, 2).join(" "));
    });

    it("lets the workstation user sudo and has each IDE's command", async () => {
        const res = await sshExec({ host: ip, user: "dev", privateKey: key }, { command: "id -un && sudo -n id -u", dialErrorLimit: 3 });
        assert.strictEqual(res.stdout, "dev\n0\n");
        const found = (await onHost("for b in code cursor antigravity-ide; do command -v \"$b\"; done")).trim().split("\n");
        assert.deepStrictEqual(found.map((p) => path.basename(p)), ["code", "cursor", "antigravity-ide"]);
    });

    it("trips over no lock and prints neither the private key nor the password", () => {
        assert.deepStrictEqual(lockTrouble(ws.output), []);
        assert.deepStrictEqual(secretsIn(ws.output, key, password), []);
    });
});
