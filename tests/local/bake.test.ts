// testhost.sh bake and up --image: a host's root generalised and packed into a baked image,
// checked on the image's own files, then booted as a new host (issue 14, the local target).
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const PROJECT_DIR = path.join(__dirname, "..", "..");
const TESTHOST = path.join(PROJECT_DIR, "tools", "local", "testhost.sh");
const isRoot = process.getuid?.() === 0;
// Names and indexes of this suite only, so that it may run beside the shared suites.
const BASE = "wsimgbase";
const FROM = "wsimgfrom";
const INDEXES = { [BASE]: "221", [FROM]: "222" };

function testhost(stateDir: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((resolve) => {
        const child = spawn("bash", [TESTHOST, ...args], {
            env: { ...process.env, WS_STATE_DIR: stateDir },
            stdio: ["ignore", "pipe", "pipe"],
            timeout: 300_000,
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.on("close", (code) => resolve({ code, out, err }));
    });
}

(isRoot ? describe : describe.skip)("a baked image on the local target (root, boots two hosts)", function () {
    this.timeout(600_000);
    let work = "";
    let stateDir = "";
    let keys = "";
    let tarball = "";
    let unpacked = "";
    const USER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBakedBakedBakedBakedBakedBakedBakedBakedBa builder@bake";

    before(async () => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "ws-bake-"));
        stateDir = path.join(work, "state");
        keys = path.join(work, "authorized_keys");
        fs.writeFileSync(keys, "");
        tarball = path.join(work, "baked.tar.zst");
        const up = await testhost(stateDir, ["up", BASE, "--index", INDEXES[BASE], "--authorized-keys", keys]);
        assert.strictEqual(up.code, 0, up.err);
        // What an install stage leaves (kept) and what belongs to one user and one host (removed).
        const provision = [
            "set -e",
            "useradd -m -s /bin/bash dev && echo 'dev:pw' | chpasswd",
            `install -d -m 700 -o dev -g dev /home/dev/.ssh && echo '${USER_KEY}' >/home/dev/.ssh/authorized_keys`,
            "echo 'dev ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/90-workstation-dev",
            "printf 'Types: deb\\n' >/etc/apt/sources.list.d/vscode.sources",
            "mkdir -p /var/log/workstation && echo stage >/var/log/workstation/timing.csv",
        ].join("\n");
        const prov = await testhost(stateDir, ["ssh", BASE, provision]);
        assert.strictEqual(prov.code, 0, prov.err);
        const bake = await testhost(stateDir, ["bake", BASE, "--out", tarball]);
        assert.strictEqual(bake.code, 0, bake.err);
        assert.strictEqual(bake.out.trim(), tarball);
        unpacked = path.join(work, "unpacked");
        fs.mkdirSync(unpacked);
        const x = spawnSync("tar", ["--numeric-owner", "-I", "zstd", "-C", unpacked, "-xf", tarball], { encoding: "utf8" });
        assert.strictEqual(x.status, 0, x.stderr);
    });

    after(async () => {
        if (!work) return;
        await testhost(stateDir, ["down", "--all"]);
        fs.rmSync(work, { recursive: true, force: true });
    });

    it("bake removed the host it baked", async () => {
        assert.strictEqual((await testhost(stateDir, ["names"])).out.trim(), "");
    });

    it("leaves no user key, no host key and no machine-id in the image's files", () => {
        const r = (f: string) => path.join(unpacked, f);
        assert.strictEqual(fs.existsSync(r("home/dev")), false);
        assert.strictEqual(fs.existsSync(r("root/.ssh/authorized_keys")), false, "the harness key went too");
        assert.deepStrictEqual(
            fs.readdirSync(r("etc/ssh")).filter((f) => f.startsWith("ssh_host_")),
            [],
        );
        assert.strictEqual(fs.readFileSync(r("etc/machine-id"), "utf8"), "");
        assert.doesNotMatch(fs.readFileSync(r("etc/passwd"), "utf8"), /^dev:/m);
        assert.match(fs.readFileSync(r("etc/shadow"), "utf8"), /^root:\*:/m);
        assert.strictEqual(fs.existsSync(r("etc/sudoers.d/90-workstation-dev")), false);
        assert.strictEqual(fs.existsSync(r("var/lib/cloud/instances")), false);
        assert.strictEqual(fs.existsSync(r("var/log/workstation")), false);
        const grep = spawnSync("grep", ["-rlF", "BakedBakedBaked", r("etc"), r("root"), r("home"), r("var/lib")], { encoding: "utf8" });
        assert.strictEqual(grep.stdout, "", "the user's key is nowhere in the image");
        assert.ok(fs.existsSync(r("etc/apt/sources.list.d/vscode.sources")), "what install stages made stays");
    });

    it("boots a new host from the baked image with its own host key and machine-id, cloud-init run anew", async () => {
        const up = await testhost(stateDir, ["up", FROM, "--index", INDEXES[FROM], "--authorized-keys", keys, "--image", tarball]);
        assert.strictEqual(up.code, 0, up.err);
        const check = await testhost(stateDir, [
            "ssh",
            FROM,
            "cat /etc/machine-id; test -f /etc/apt/sources.list.d/vscode.sources && echo kept; cloud-init status --wait >/dev/null; ls /var/lib/cloud/instances; id dev 2>&1 || true",
        ]);
        assert.strictEqual(check.code, 0, check.err);
        const lines = check.out.trim().split("\n");
        assert.match(lines[0], /^[0-9a-f]{32}$/);
        assert.strictEqual(lines[1], "kept");
        assert.match(lines[2], new RegExp(`^${FROM}-`), "cloud-init ran for this host's instance id");
        assert.match(lines[3], /no such user/);
    });

    it("refuses an image that is not there, naming it", async () => {
        const res = await testhost(stateDir, ["up", "wsimgnone", "--index", "223", "--authorized-keys", keys, "--image", path.join(work, "missing.tar.zst")]);
        assert.notStrictEqual(res.code, 0);
        assert.match(res.err, /--image .*missing\.tar\.zst: no such baked image \(testhost\.sh bake makes one\)/);
    });
});
