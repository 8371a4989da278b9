// The home-volume stage for real: a loop device stands for the DigitalOcean volume, made
// visible inside a test host at /dev/disk/by-id/scsi-0DO_Volume_<name>. First droplet:
// formatted, /home copied and mounted by UUID; a second run finds everything done; a new
// droplet gets the same volume back with the files and their owner; the loop device is
// released at the end. Needs root; names and indexes (wsvola/wsvolb, 246/247) are its own.
import * as assert from "assert";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { WORKSTATION_GID, WORKSTATION_UID } from "../../components/homeVolume";
import { provisioningFile, shellQuote } from "../../components/stageScript";
import { cloudConfig } from "../../components/workstation";
import { generateEd25519 } from "../../tools/local/keys";
import { ensureImage, startHost, stopHost, TestHost } from "../../tools/local/testHost";
import { attachVolume, createVolumeFile, destroyVolume, loopDevicesOf } from "../../tools/local/volume";

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const VOLUME = "workstation-voltest-home";

function ssh(key: string, user: string, host: TestHost, command: string, stdin = ""): Promise<{ code: number; out: string; err: string }> {
    return new Promise((resolve) => {
        const child = spawn(
            "ssh",
            [
                "-i",
                key,
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                `${user}@${host.ip}`,
                command,
            ],
            { stdio: ["pipe", "pipe", "pipe"], timeout: 600_000 },
        );
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.on("close", (code) => resolve({ code: code ?? -1, out, err }));
        child.stdin.end(stdin);
    });
}

function stageScript(): string {
    const vars = { WS_STAGE: "home-volume", WS_USERNAME: "dev", WS_HOME_VOLUME_NAME: VOLUME, WS_UID: String(WORKSTATION_UID), WS_GID: String(WORKSTATION_GID) };
    return [
        "#!/usr/bin/env bash",
        ...Object.entries(vars).map(([k, v]) => `${k}=${shellQuote(v)}`),
        provisioningFile("lib.sh"),
        provisioningFile("home-volume.sh"),
    ].join("\n");
}

function marked<T>(stdout: string, marker: string): T {
    const line = stdout
        .split("\n")
        .reverse()
        .find((l) => l.startsWith(marker));
    assert.ok(line, `no ${marker} line in:\n${stdout}`);
    return JSON.parse(line.slice(marker.length)) as T;
}

interface HomeResult {
    device: string;
    uuid: string;
    formatted: boolean;
    copiedHome: boolean;
    owner: string;
}

(isRoot ? describe : describe.skip)("the home-volume stage on test hosts (root, boots real hosts)", function () {
    this.timeout(900_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-home-volume-test-"));
    const key = path.join(dir, "id_ed25519");
    const file = path.join(dir, "volume.img");
    let pub = "";
    let host: TestHost | undefined;

    const boot = async (name: string, index: number): Promise<TestHost> => {
        const hostKey = generateEd25519();
        host = await startHost({
            name,
            index,
            authorizedKeys: [pub],
            userData: cloudConfig("dev", pub, { privateKey: hostKey.privateKeyOpenssh, publicKey: hostKey.publicKeyOpenssh }),
        });
        attachVolume(file, VOLUME, host);
        return host;
    };
    const runStage = async (h: TestHost): Promise<{ result: HomeResult; status: string; steps: string[] }> => {
        const r = await ssh(key, "root", h, "bash -s", stageScript());
        assert.strictEqual(r.code, 0, `${r.out}\n${r.err}`);
        const timing = marked<{ status: string; steps?: { name: string }[] }>(r.out, "::workstation-timing::");
        return { result: marked<HomeResult>(r.out, "::workstation-result::"), status: timing.status, steps: (timing.steps ?? []).map((s) => s.name) };
    };

    before(async () => {
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "workstation", "-f", key]);
        pub = fs.readFileSync(`${key}.pub`, "utf8").trim();
        createVolumeFile(file, 1);
        await ensureImage();
    });

    after(async () => {
        if (host) await stopHost(host.name).catch(() => undefined);
        destroyVolume(file);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    let uuid = "";
    it("formats a blank volume, copies /home onto it and mounts it on /home by UUID with nofail", async () => {
        const h = await boot("wsvola", 246);
        assert.strictEqual((await ssh(key, "dev", h, "id -u; id -g")).out, `${WORKSTATION_UID}\n${WORKSTATION_GID}\n`);
        const { result, status } = await runStage(h);
        assert.strictEqual(status, "ok");
        assert.deepStrictEqual(
            { formatted: result.formatted, copiedHome: result.copiedHome, owner: result.owner },
            { formatted: true, copiedHome: true, owner: `${WORKSTATION_UID}:${WORKSTATION_GID}` },
        );
        uuid = result.uuid;
        const fstab = (await ssh(key, "root", h, "grep ' /home ' /etc/fstab")).out;
        assert.match(fstab, new RegExp(`^UUID=${uuid} /home ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2 # workstation home volume\n$`));
        assert.strictEqual((await ssh(key, "root", h, "findmnt -n -o SOURCE /home")).out.trim(), `/dev/disk/by-id/scsi-0DO_Volume_${VOLUME}`);
        // The key cloud-init wrote was copied: the user still logs in, now with the home on the volume.
        const w = await ssh(
            key,
            "dev",
            h,
            "echo kept > ~/project.txt && mkdir -p ~/.config/Code/User && echo '{\"editor.fontSize\": 15}' > ~/.config/Code/User/settings.json && echo ok",
        );
        assert.strictEqual(w.out, "ok\n", w.err);
    });

    it("finds its work done on a second run", async () => {
        const { result, status, steps } = await runStage(host!);
        assert.strictEqual(status, "skipped");
        // Step names are stable: the ones the run that did the work recorded.
        assert.deepStrictEqual(steps, ["device", "format", "owner", "copy-home", "fstab", "mount-home"]);
        assert.strictEqual(result.uuid, uuid);
        assert.strictEqual(result.formatted, false);
    });

    it("gives a new droplet the same volume back, with the files and their owner, without formatting or copying", async () => {
        await stopHost(host!.name);
        host = undefined;
        const h = await boot("wsvolb", 247);
        const { result } = await runStage(h);
        assert.deepStrictEqual(
            { uuid: result.uuid, formatted: result.formatted, copiedHome: result.copiedHome },
            { uuid, formatted: false, copiedHome: false },
        );
        const r = await ssh(
            key,
            "dev",
            h,
            "cat ~/project.txt ~/.config/Code/User/settings.json; stat -c %u:%g ~/project.txt ~/.config/Code/User/settings.json",
        );
        assert.strictEqual(r.out, `kept\n{"editor.fontSize": 15}\n${WORKSTATION_UID}:${WORKSTATION_GID}\n${WORKSTATION_UID}:${WORKSTATION_GID}\n`, r.err);
    });

    it("releases the loop device when the volume is destroyed", async () => {
        await stopHost(host!.name);
        host = undefined;
        assert.strictEqual(loopDevicesOf(file).length, 1);
        destroyVolume(file);
        assert.ok(!execFileSync("losetup", ["-a"], { encoding: "utf8" }).includes(file));
        assert.strictEqual(fs.existsSync(file), false);
    });
});
