// Each image is extracted once into a cached root that every host booted from it shares
// read-only, under an overlayfs of its own (tools/local/testhost/roots.sh): two hosts share one
// root, a host's writes never reach it, down leaves no mount, a killed extraction leaves no
// half root, and a root whose tarball is gone goes once no host uses it.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { testhost } from "./testhostProcess";
import { clearLeftoverHosts, ensureImage, imageRootsDir } from "../../tools/local/testHost";

const isRoot = process.getuid?.() === 0;
// Names and indexes of this suite only, so that it may run beside the shared suites.
const HOSTS = { wsroota: "226", wsrootb: "227", wsrootc: "228", wsrootk: "229" } as const;
type Name = keyof typeof HOSTS;

/** The mounts (target, fstype, options) at or under DIR, as this machine's mount table has them. */
function mountsUnder(dir: string): { target: string; fstype: string; options: string }[] {
    const r = spawnSync("findmnt", ["-rn", "-o", "TARGET,FSTYPE,OPTIONS"], { encoding: "utf8" });
    return r.stdout
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => {
            const [target, fstype, options] = l.split(" ");
            return { target, fstype, options };
        })
        .filter((m) => m.target === dir || m.target.startsWith(`${dir}/`));
}

/** Every path of a root with its type, size, mtime, mode and owner: changes when anything in it does. */
function fingerprint(root: string): string {
    const r = spawnSync("bash", ["-c", `cd "$1" && find . -printf '%P %y %s %T@ %m %U:%G %l\\n' | LC_ALL=C sort | sha256sum`, "_", root], {
        encoding: "utf8",
    });
    assert.strictEqual(r.status, 0, r.stderr);
    return r.stdout.split(" ")[0];
}

/** The cached-root entries (names under the roots dir) made from TARBALL, by their `source` file. */
function entriesOf(tarball: string): string[] {
    const dir = imageRootsDir();
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).filter((e) => {
        const source = path.join(dir, e, "source");
        return fs.existsSync(source) && fs.readFileSync(source, "utf8").split(" ")[0] === tarball;
    });
}

(isRoot ? describe : describe.skip)("cached image roots under an overlay per host (root, boots real hosts)", function () {
    this.timeout(600_000);
    let work = "";
    let stateDir = "";
    let keys = "";
    let image = ""; // a copy of the base image: a tarball of its own, so a root of its own, made by this suite
    let lower = "";
    const hostDir = (name: Name): string => path.join(stateDir, "hosts", name);
    const up = (name: Name, tarball?: string) =>
        testhost(stateDir, ["up", name, "--index", HOSTS[name], "--authorized-keys", keys, ...(tarball ? ["--image", tarball] : [])]);
    const ssh = async (name: Name, command: string): Promise<string> => {
        const r = await testhost(stateDir, ["ssh", name, command]);
        assert.strictEqual(r.code, 0, r.err);
        return r.out;
    };

    before(async () => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "ws-roots-"));
        stateDir = path.join(work, "state");
        keys = path.join(work, "authorized_keys");
        fs.writeFileSync(keys, "");
        await clearLeftoverHosts((name) => name in HOSTS);
        image = path.join(work, "image.tar.zst");
        fs.copyFileSync(await ensureImage(), image);
    });

    after(async () => {
        if (!work) return;
        await testhost(stateDir, ["down", "--all"]);
        // A root of this suite's image left by a failed test: no host mounts it any more (down --all).
        for (const e of entriesOf(image)) fs.rmSync(path.join(imageRootsDir(), e), { recursive: true, force: true });
        fs.rmSync(work, { recursive: true, force: true });
    });

    it("leaves no half root when an up is killed while it extracts, and down clears that host", async () => {
        let pid = 0;
        const killed = testhost(stateDir, ["up", "wsrootk", "--index", HOSTS.wsrootk, "--authorized-keys", keys, "--image", image], {
            detached: true,
            onSpawn: (p) => (pid = p),
        });
        const extracting = (): boolean =>
            fs.existsSync(imageRootsDir()) &&
            fs.readdirSync(imageRootsDir()).some((e) => e.startsWith(".extract.image-") && fs.existsSync(path.join(imageRootsDir(), e, "root", "etc")));
        for (let i = 0; i < 600 && !extracting(); i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(extracting(), "the up never started extracting");
        process.kill(-pid, "SIGKILL");
        assert.strictEqual((await killed).signal, "SIGKILL");
        assert.deepStrictEqual(entriesOf(image), [], "a root that was not whole is in the cache");
        assert.strictEqual((await testhost(stateDir, ["down", "wsrootk"])).code, 0);
        assert.ok(!fs.existsSync(hostDir("wsrootk")));
    });

    it("extracts the image once for two hosts booted from it at once, and mounts each host's root as an overlay of it", async () => {
        const [a, b] = await Promise.all([up("wsroota", image), up("wsrootb", image)]);
        assert.strictEqual(a.code, 0, a.err);
        assert.strictEqual(b.code, 0, b.err);
        const how = [a, b].map((r) => /extract [\d.]+ s \((cached|extracted) root\)/.exec(r.err)?.[1]).sort();
        assert.deepStrictEqual(how, ["cached", "extracted"], a.err + b.err);
        const entries = entriesOf(image);
        assert.strictEqual(entries.length, 1, entries.join(" "));
        lower = path.join(imageRootsDir(), entries[0], "root");
        assert.deepStrictEqual(
            fs.readdirSync(imageRootsDir()).filter((e) => e.startsWith(".extract.image-")),
            [],
            "the killed extraction's dir is left",
        );
        for (const name of ["wsroota", "wsrootb"] as const) {
            const mounts = mountsUnder(hostDir(name));
            assert.deepStrictEqual(
                mounts.map((m) => [m.target, m.fstype]),
                [[path.join(hostDir(name), "root"), "overlay"]],
            );
            const opts = mounts[0].options.split(",");
            assert.ok(opts.includes(`lowerdir=${lower}`), mounts[0].options);
            assert.ok(opts.includes(`upperdir=${path.join(hostDir(name), "upper")}`), mounts[0].options);
            assert.strictEqual((await ssh(name, "hostname")).trim(), name);
        }
    });

    it("keeps a host's writes in its own layer: the other host and the cached root never see them", async () => {
        const before = fingerprint(lower);
        const issue = fs.readFileSync(path.join(lower, "etc", "issue"), "utf8");
        await ssh(
            "wsroota",
            "echo probe >/root/probe && rm /etc/issue && echo changed >/etc/debian_version && mkdir -p /var/lib/wsroot && mv /var/lib/apt /var/lib/wsroot/",
        );
        assert.strictEqual(
            (await ssh("wsroota", "cat /root/probe; test -e /etc/issue || echo gone; cat /etc/debian_version; ls /var/lib/wsroot")).trim(),
            "probe\ngone\nchanged\napt",
        );
        assert.strictEqual((await ssh("wsrootb", "test -e /root/probe || echo absent; cat /etc/issue")).trim(), `absent\n${issue.trim()}`);
        assert.strictEqual(fingerprint(lower), before);
        assert.strictEqual(fs.readFileSync(path.join(lower, "etc", "issue"), "utf8"), issue);
        assert.ok(!fs.existsSync(path.join(lower, "root", "probe")));
    });

    it("down unmounts the host's overlay, leaves the cached root as it was, and keeps it while another host uses it after its tarball is gone", async () => {
        const before = fingerprint(lower);
        assert.strictEqual((await testhost(stateDir, ["down", "wsroota"])).code, 0);
        assert.deepStrictEqual(mountsUnder(hostDir("wsroota")), []);
        assert.ok(!fs.existsSync(hostDir("wsroota")));
        assert.strictEqual(fingerprint(lower), before);
        fs.rmSync(image);
        // An up prunes roots whose tarball is gone, but not one a running host (wsrootb) still mounts.
        const c = await up("wsrootc");
        assert.strictEqual(c.code, 0, c.err);
        assert.ok(fs.existsSync(lower), "the root of a running host was removed");
        assert.strictEqual((await ssh("wsrootb", "cat /etc/hostname")).trim(), "wsrootb");
        assert.strictEqual((await testhost(stateDir, ["down", "wsrootb"])).code, 0);
        assert.strictEqual((await testhost(stateDir, ["down", "wsrootc"])).code, 0);
        assert.deepStrictEqual(mountsUnder(stateDir), []);
        assert.ok(fs.existsSync(lower), "down alone prunes nothing");
    });

    it("removes the cached root of a tarball that is gone at the next up, once no host uses it", async () => {
        const c = await up("wsrootc");
        assert.strictEqual(c.code, 0, c.err);
        assert.match(c.err, /removing cached root .*image-.* \(its tarball .*image\.tar\.zst is gone or was rewritten\)/);
        assert.ok(!fs.existsSync(path.dirname(lower)));
        assert.deepStrictEqual(entriesOf(image), []);
        assert.strictEqual((await testhost(stateDir, ["down", "wsrootc"])).code, 0);
        assert.deepStrictEqual(mountsUnder(stateDir), []);
    });
});
