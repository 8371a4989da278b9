// The local test host for real: two hosts at once, real SSH, real cloud-init, real apt
// through the proxy, the stand-in IDE repository, and nothing left after down.
// Needs root (netns, nspawn) and the Debian archive; skipped without root.
// Names and indexes (wsthta/wstthb, 250/251) are its own, so it can run beside other hosts.

import * as assert from "assert";
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { clearLeftoverHosts, ensureImage, listHosts, proxyUrl, serveStandinFor, startHost, stopHost, TestHost } from "../../tools/local/testHost";

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

function sh(cmd: string, args: string[]): { code: number; out: string } {
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 300_000 });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** Asynchronous, so that the stand-in repository served by this process can answer meanwhile. */
function shAsync(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
        const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (out += d.toString()));
        child.on("close", (code) => resolve({ code: code ?? -1, out }));
    });
}

(isRoot ? describe : describe.skip)("local test host (root, boots real hosts)", function () {
    this.timeout(900_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-testhost-test-"));
    const key = path.join(dir, "id_ed25519");
    let hosts: TestHost[] = [];

    const ssh = (user: string, host: TestHost, command: string): Promise<{ code: number; out: string }> =>
        shAsync("ssh", [
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
        ]);

    before(async () => {
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "workstation", "-f", key]);
        const pub = fs.readFileSync(`${key}.pub`, "utf8").trim();
        const userData = [
            "#cloud-config",
            "users:",
            "  - name: dev",
            "    shell: /bin/bash",
            "    groups: [sudo]",
            '    sudo: "ALL=(ALL) NOPASSWD:ALL"',
            "    lock_passwd: true",
            "    ssh_authorized_keys:",
            `      - ${pub}`,
            "",
        ].join("\n");
        await ensureImage();
        // An earlier run killed before its `after` left these (and only these) behind.
        await clearLeftoverHosts((name) => name === "wsthta" || name === "wsthtb");
        hosts = await Promise.all([
            startHost({ name: "wsthta", index: 250, authorizedKeys: [pub], userData }),
            startHost({ name: "wsthtb", index: 251, authorizedKeys: [pub], userData }),
        ]);
    });

    after(async () => {
        await Promise.all(hosts.map((h) => stopHost(h.name)));
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("boots two hosts at once, each in its own /30, and lists them", async () => {
        assert.deepStrictEqual(
            hosts.map((h) => [h.name, h.ip, h.gatewayIp, h.index]),
            [
                ["wsthta", "10.213.250.2", "10.213.250.1", 250],
                ["wsthtb", "10.213.251.2", "10.213.251.1", 251],
            ],
        );
        const listed = (await listHosts()).map((h) => h.name);
        assert.ok(listed.includes("wsthta") && listed.includes("wsthtb"), `list: ${listed.join(",")}`);
        for (const h of hosts) assert.ok(h.bootSeconds > 0 && h.bootSeconds < 60, `boot ${h.bootSeconds}`);
    });

    it("lets root in with the caller's key, and systemd runs with no failed unit", async () => {
        for (const h of hosts) {
            const r = await ssh("root", h, "systemctl is-system-running; systemctl --failed --no-legend --plain --full");
            assert.strictEqual(r.code, 0, r.out);
            const [state, ...failed] = r.out.trim().split("\n");
            assert.ok(state === "running" || state === "degraded", r.out);
            assert.deepStrictEqual(failed, [], `${h.name}: failed units`);
        }
    });

    it("applies the cloud-init user data: dev logs in with the key and has passwordless sudo", async () => {
        for (const h of hosts) {
            const r = await ssh("dev", h, "id -nG && sudo -n true && echo sudo-ok && cloud-init status");
            assert.strictEqual(r.code, 0, r.out);
            assert.match(r.out, /\bsudo\b/);
            assert.match(r.out, /sudo-ok/);
            assert.match(r.out, /status: done/);
        }
    });

    it("installs a Debian package through the proxy on both hosts at once, and reaches nothing else", async () => {
        const install = "apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q hello >/dev/null && hello";
        const rs = await Promise.all(hosts.map((h) => ssh("root", h, install)));
        for (const r of rs) assert.strictEqual(r.code, 0, r.out);
        for (const r of rs) assert.match(r.out, /Hello, world!/);
        const route = await ssh("root", hosts[0], "ip route | grep -c default || true");
        assert.strictEqual(route.out.trim(), "0");
        assert.strictEqual(proxyUrl(hosts[0]), "http://10.213.255.1:3142");
    });

    it("installs the stand-in code package from the signed stand-in repository with a deb822 source", async () => {
        const h = hosts[0];
        const repo = await serveStandinFor(h);
        try {
            const s = repo.sourcesFor(h.gatewayIp).vscode;
            const script = [
                "set -e",
                `curl -fsS ${s.keyUrl} | gpg --dearmor > /usr/share/keyrings/microsoft.gpg 2>/dev/null || ` +
                    `{ apt-get install -y -q gpg >/dev/null && curl -fsS ${s.keyUrl} | gpg --dearmor > /usr/share/keyrings/microsoft.gpg; }`,
                `printf 'Types: deb\\nURIs: %s\\nSuites: %s\\nComponents: %s\\nSigned-By: /usr/share/keyrings/microsoft.gpg\\n' ${s.repoUrl} ${s.suite} ${s.components} > /etc/apt/sources.list.d/vscode.sources`,
                "apt-get update -q >/dev/null",
                `DEBIAN_FRONTEND=noninteractive apt-get install -y -q code >/dev/null`,
                "code --version",
            ].join("\n");
            const r = await ssh("root", h, script);
            assert.strictEqual(r.code, 0, r.out);
            assert.match(r.out, /^1\.99\.0/m);
        } finally {
            await repo.close();
        }
    });

    it("down leaves nothing: no nspawn, no netns, no veth, no root dir", async () => {
        await Promise.all(hosts.map((h) => stopHost(h.name)));
        for (const h of hosts) {
            assert.ok(!fs.existsSync(`/proc/${h.pid}`) || !fs.readFileSync(`/proc/${h.pid}/cmdline`, "utf8").includes(h.rootDir), `nspawn ${h.pid} still runs`);
            assert.ok(!fs.existsSync(h.rootDir), `${h.rootDir} still exists`);
            assert.doesNotMatch(sh("ip", ["netns", "list"]).out, new RegExp(`^wsth-${h.name}\\b`, "m"));
            assert.notStrictEqual(sh("ip", ["link", "show", `wsth${h.index}`]).code, 0);
        }
        hosts = [];
    });
});
