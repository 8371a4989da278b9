// End to end, issue 14: an image stack baked on the local target (the unchanged program with
// role: image, through the runner), then a workstation booted from its snapshot id with the
// stack's home volume. The workstation passes the checks a fresh one does, its install
// stages report `skipped`, and a stop and start brings it back from the image, home intact.
import * as assert from "assert";
import { startRunner } from "../../tools/shared/runnerProcess";
import * as fs from "fs";
import * as path from "path";
import type { RunRecord } from "../../tools/local/programRun";
import { decodeResolved, toPlain } from "../../tools/local/outputs";
import { HostState, stackVolumeFiles, volumeOwner } from "../../tools/local/runnerState";
import { sshExec } from "../../tools/local/sshExec";
import { listHosts, snapshotTarball, stopHost } from "../../tools/local/testHost";
import { destroyVolume } from "../../tools/local/volume";
import { WORKSTATION_GID, WORKSTATION_UID } from "../../components/homeVolume";
import { lockTrouble, secretsIn } from "./checks";

// Names of this suite only (it may run beside the shared suites, never two of its own at once).
const BUILDER = "wsimgeb";
const WORKSTATION = "wsimgew";
const STACK = "dev";
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
        return (
            await sshExec(
                { host: ip, user: "dev", privateKey: key },
                { command: "sudo -n bash -s", stdin: `set -euo pipefail\n${script}\n`, dialErrorLimit: 3 },
            )
        ).stdout;
    }

    before(async () => {
        for (const name of [BUILDER, WORKSTATION]) await runner(["--down", name]);
        // The workstation gets the stack's home volume, blank: one left by another run of the
        // stack would hand it an old /home (the lifecycle and e2e suites do the same).
        for (const file of stackVolumeFiles(STACK)) {
            const owner = volumeOwner(file);
            if (owner !== undefined && owner !== WORKSTATION && (await listHosts()).some((h) => h.name === owner)) {
                throw new Error(`the ${STACK} stack's volume ${file} is attached to running test host ${owner}; stop it first`);
            }
            destroyVolume(file);
        }
        const b = await runner(["--name", BUILDER, "--stack", STACK, "--set", "role=image", "--set", `imageBake=e2e-${process.pid}`]);
        bake = { ...b, record: new HostState(BUILDER).readRun<RunRecord>()! };
        assert.strictEqual(b.code, 0, b.output.slice(-3000));
        const outputs = toPlain(decodeResolved(bake.record.outputs), true) as Record<string, unknown>;
        snapshotId = String(outputs.snapshotId);
        // With the stack's home volume (homeVolumeGb 20 by default): home-volume runs before
        // system-prep and formats the blank volume with the image's own mkfs.ext4 (e2fsprogs
        // came with system-prep's base packages at the bake; the image has no apt lists).
        const w = await runner(["--name", WORKSTATION, "--stack", STACK, "--set", `image=${snapshotId}`]);
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
        for (const file of stackVolumeFiles(STACK)) if (volumeOwner(file) === WORKSTATION) destroyVolume(file);
        if (snapshotId && /^[0-9]+$/.test(snapshotId)) fs.rmSync(snapshotTarball(snapshotId), { force: true });
    });

    it("bakes with the install stages only and exports the snapshot and the versions in it", () => {
        assert.deepStrictEqual(bake.record.stages.map((s) => s.stage).sort(), [
            "desktop",
            "generalise",
            "ide-antigravity",
            "ide-cursor",
            "ide-vscode",
            "monitor",
            "system-prep",
            "wait-ready",
        ]);
        const outputs = toPlain(decodeResolved(bake.record.outputs), true) as { contents: Record<string, string> };
        // Each IDE's first candidate the stand-in repository offers (Antigravity: the IDE, not the agent manager).
        for (const pkg of ["xfce4", "xrdp", "code", "cursor", "antigravity-ide"]) assert.match(outputs.contents[pkg], /^\S+$/, `${pkg} version`);
        assert.ok(fs.existsSync(snapshotTarball(snapshotId)), "the baked image is there");
    });

    it("runs every stage of the workstation from the image, and the install stages report skipped", () => {
        assert.strictEqual(ws.record.ok, true);
        const status = Object.fromEntries(ws.record.stages.map((s) => [s.stage, s.timing?.status]));
        assert.deepStrictEqual(Object.keys(status).sort(), [
            "desktop",
            "harden",
            "home-volume",
            "ide-antigravity",
            "ide-cursor",
            "ide-vscode",
            "monitor",
            "report",
            "system-prep",
            "verify",
            "wait-ready",
        ]);
        for (const s of SKIPPED_FROM_IMAGE) assert.strictEqual(status[s], "skipped", s);
        const desktop = ws.record.stages.find((s) => s.stage === "desktop")!.timing!;
        assert.deepStrictEqual(
            (desktop.steps ?? []).filter((s) => s.status !== "skipped").map((s) => s.name),
            ["xsession"],
            "only the user's own session file",
        );
        const prep = ws.record.stages.find((s) => s.stage === "system-prep")!.timing!;
        assert.strictEqual((prep.steps ?? []).find((s) => s.name === "base-packages")!.status, "skipped");
    });

    it("puts /home on the home volume: formatted from the image's own tools, the user's files owned by the fixed UID", async () => {
        const hv = ws.record.stages.find((s) => s.stage === "home-volume")!;
        assert.strictEqual(hv.ok, true);
        assert.strictEqual(hv.timing!.status, "ok");
        const steps = Object.fromEntries((hv.timing!.steps ?? []).map((s) => [s.name, s.status]));
        assert.strictEqual(steps.format, "ok", JSON.stringify(hv.timing!.steps));
        assert.strictEqual(steps["copy-home"], "ok");
        // mkfs.ext4 came with the image (system-prep's base packages at the bake): no apt here.
        assert.doesNotMatch(hv.stdout + hv.stderr, /apt-get|Reading package lists/, "home-volume installed nothing");
        assert.deepStrictEqual((hv.result as { formatted?: boolean }).formatted, true);
        const out = (
            await onHost(
                "findmnt -n -o FSTYPE,TARGET /home; stat -c '%u:%g' /home/dev; test -f /home/.workstation-home-volume && echo marked; grep -c 'workstation home volume' /etc/fstab",
            )
        )
            .trim()
            .split("\n");
        assert.deepStrictEqual(out[0].trim().split(/\s+/), ["ext4", "/home"], "/home is the volume's ext4");
        assert.strictEqual(out[1], `${WORKSTATION_UID}:${WORKSTATION_GID}`);
        assert.strictEqual(out[2], "marked", "the copy of /home onto the volume completed");
        assert.strictEqual(out[3], "1", "one fstab line for it");
    });

    it("passes verify: xrdp, each IDE, sudo", () => {
        const outputs = toPlain(decodeResolved(ws.record.outputs), true) as { verification: { ok: boolean; checks: { name: string; ok: boolean }[] } };
        assert.strictEqual(outputs.verification.ok, true);
        assert.ok(
            outputs.verification.checks.every((c) => c.ok),
            JSON.stringify(outputs.verification.checks),
        );
    });

    it("leaves xrdp active and listening on 127.0.0.1:3389 only", async () => {
        assert.strictEqual((await onHost("systemctl is-active xrdp")).trim(), "active");
        assert.deepStrictEqual((await onHost("ss -Hltn 'sport = :3389' | awk '{print $4}' | sort -u")).trim().split("\n"), ["127.0.0.1:3389"]);
    });

    it("configures sshd for keys only and no root login, with this workstation's own host key", async () => {
        const settings = (await onHost("sshd -T | grep -E '^(passwordauthentication|permitrootlogin|kbdinteractiveauthentication) ' | sort"))
            .trim()
            .split("\n");
        assert.deepStrictEqual(settings, ["kbdinteractiveauthentication no", "passwordauthentication no", "permitrootlogin no"]);
        const hostKey = (await onHost("cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub")).trim();
        assert.strictEqual(hostKey, new HostState(WORKSTATION).readSecrets().keys["ws-hostkey"].publicKeyOpenssh.trim().split(" ").slice(0, 2).join(" "));
    });

    it("lets the workstation user sudo and has each IDE's command", async () => {
        const res = await sshExec({ host: ip, user: "dev", privateKey: key }, { command: "id -un && sudo -n id -u", dialErrorLimit: 3 });
        assert.strictEqual(res.stdout, "dev\n0\n");
        const found = (await onHost('for b in code cursor antigravity-ide; do command -v "$b"; done')).trim().split("\n");
        assert.deepStrictEqual(
            found.map((p) => path.basename(p)),
            ["code", "cursor", "antigravity-ide"],
        );
    });

    it("trips over no lock and prints neither the private key nor the password", () => {
        assert.deepStrictEqual(lockTrouble(ws.output), []);
        assert.deepStrictEqual(secretsIn(ws.output, key, password), []);
    });

    // Last: it replaces the host the tests above looked at.
    it("stops, then starts again from the image with the home intact (a new host, the same volume)", async function () {
        this.timeout(10 * 60 * 1000);
        await sshExec(
            { host: ip, user: "dev", privateKey: key },
            { command: "bash -s", stdin: "set -e\necho 'kept across a restart' >~/restart.txt\n", dialErrorLimit: 3 },
        );
        const stop = await runner(["--stop", WORKSTATION]);
        assert.strictEqual(stop.code, 0, stop.output.slice(-3000));
        assert.ok(!(await listHosts()).some((h) => h.name === WORKSTATION), "the host is gone while stopped");
        const start = await runner(["--start", WORKSTATION, "--set", `image=${snapshotId}`]);
        assert.strictEqual(start.code, 0, start.output.slice(-3000));
        const record = new HostState(WORKSTATION).readRun<RunRecord>()!;
        assert.notStrictEqual(record.host!.pid, ws.record.host!.pid, "a new host");
        const status = Object.fromEntries(record.stages.map((st) => [st.stage, st.timing?.status]));
        for (const st of SKIPPED_FROM_IMAGE) assert.strictEqual(status[st], "skipped", `${st} from the image`);
        const hv = record.stages.find((st) => st.stage === "home-volume")!;
        assert.deepStrictEqual(hv.result, { ...(hv.result as object), formatted: false, copiedHome: false }, "the volume's filesystem and home kept");
        const outputs = toPlain(decodeResolved(record.outputs), true) as { lifecycle: { action: string }; verification: { ok: boolean } };
        assert.strictEqual(outputs.lifecycle.action, "start");
        assert.strictEqual(outputs.verification.ok, true);
        const out = await sshExec(
            { host: record.host!.ip, user: "dev", privateKey: key },
            { command: "cat ~/restart.txt; stat -c '%u:%g' ~/restart.txt", dialErrorLimit: 3 },
        );
        assert.strictEqual(out.stdout, `kept across a restart\n${WORKSTATION_UID}:${WORKSTATION_GID}\n`);
    });
});
