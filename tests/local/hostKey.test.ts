// The pinned host key and the closed metadata service on a real test host (root, boots
// one host): cloud-init installs the program's host key as the only one (the keys the
// image's first boot made are gone), sshd answers with it, a pinned connection and real
// `ssh -o StrictHostKeyChecking=yes` with the exported known_hosts line get in with no
// prompt, another pinned key is refused; after harden, the user cannot fetch the user data
// from the metadata service while root and do-agent can.
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { knownHostsLine } from "../../components/hostKey";
import { assembleScript } from "../../components/stageScript";
import { cloudConfig } from "../../components/workstation";
import { generateEd25519, sha256Fingerprint } from "../../tools/local/keys";
import { HostKeyMismatchError, sshExec } from "../../tools/local/sshExec";
import { ensureImage, METADATA_USER_DATA_URL, serveMetadata, startHost, stopHost, TestHost } from "../../tools/local/testHost";

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** The assembled harden script, as the Workstation sends it (no secrets in it, so no Output needed beyond resolving). */
function hardenScript(): Promise<string> {
    return new Promise((resolve) => {
        assembleScript("harden.sh", { WS_STAGE: "harden", WS_USERNAME: "dev", WS_SSH_NEVER_BAN: "" }).apply((s) => {
            resolve(s);
            return s;
        });
    });
}

(isRoot ? describe : describe.skip)("the pinned host key and the metadata service on a test host (root, boots a host)", function () {
    this.timeout(600_000);
    const name = "wshostkey";
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-hostkey-test-"));
    const login = generateEd25519();
    const hostKey = generateEd25519();
    let host: TestHost | undefined;
    let dev: { host: string; user: string; privateKey: string; hostKey: string };

    /** Runs a script as dev (sudo inside it where needed), pinned to the host key. */
    async function asDev(script: string): Promise<string> {
        return (await sshExec(dev, { command: "bash -s", stdin: `set -euo pipefail\n${script}\n`, dialErrorLimit: 3 })).stdout;
    }

    before(async () => {
        await ensureImage();
        host = await startHost({
            name,
            index: 246,
            authorizedKeys: [login.publicKeyOpenssh],
            userData: cloudConfig("dev", login.publicKeyOpenssh, { privateKey: hostKey.privateKeyOpenssh, publicKey: hostKey.publicKeyOpenssh }),
        });
        dev = { host: host.ip, user: "dev", privateKey: login.privateKeyOpenssh, hostKey: hostKey.publicKeyOpenssh.trim() };
    });

    after(async () => {
        if (host) await stopHost(host.name);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("leaves the program's ED25519 key as the only host key, replacing those the image's first boot made", async () => {
        // testhost.sh writes RSA, ECDSA and ED25519 keys before boot, as a baked image would carry.
        const files = (await asDev("ls /etc/ssh | grep '^ssh_host_' | sort")).trim().split("\n");
        assert.deepStrictEqual(files, ["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"]);
        const onHost = await asDev("sudo -n ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2");
        assert.strictEqual(onHost.trim(), sha256Fingerprint(hostKey.publicKeyOpenssh));
    });

    it("lets real ssh in with StrictHostKeyChecking=yes and only the exported known_hosts line, no prompt", async () => {
        const keyFile = path.join(dir, "id_ed25519");
        const knownHosts = path.join(dir, "known_hosts");
        fs.writeFileSync(keyFile, login.privateKeyOpenssh, { mode: 0o600 });
        fs.writeFileSync(knownHosts, `${knownHostsLine(host!.ip, 22, hostKey.publicKeyOpenssh)}\n`);
        const out = await new Promise<string>((resolve, reject) => {
            execFile(
                "ssh",
                [
                    "-i",
                    keyFile,
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "IdentitiesOnly=yes",
                    "-o",
                    "StrictHostKeyChecking=yes",
                    "-o",
                    `UserKnownHostsFile=${knownHosts}`,
                    "-o",
                    "GlobalKnownHostsFile=/dev/null",
                    `dev@${host!.ip}`,
                    "echo in",
                ],
                { timeout: 30_000 },
                (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
            );
        });
        assert.strictEqual(out, "in\n");
        // Nothing was added: ssh had nothing to learn.
        assert.strictEqual(fs.readFileSync(knownHosts, "utf8").trim().split("\n").length, 1);
    });

    it("refuses the host when another key is pinned, naming both fingerprints, before logging in", async () => {
        const other = generateEd25519();
        const failures: number[] = [];
        await assert.rejects(
            sshExec(
                { ...dev, hostKey: other.publicKeyOpenssh.trim(), label: "ws-wait-ready" },
                { command: "touch /tmp/should-not-exist", dialErrorLimit: -1, totalDialTimeoutMs: 30_000, onDialError: (n) => failures.push(n) },
            ),
            (err: unknown) => {
                assert.ok(err instanceof HostKeyMismatchError, String(err));
                assert.strictEqual(err.presentedFingerprint, sha256Fingerprint(hostKey.publicKeyOpenssh));
                assert.strictEqual(err.expectedFingerprint, sha256Fingerprint(other.publicKeyOpenssh));
                assert.match(err.message, new RegExp(`^host key mismatch: ws-wait-ready: dev@${host!.ip.replace(/\./g, "\\.")}:22 presented SHA256:`));
                return true;
            },
        );
        assert.deepStrictEqual(failures, [1]);
        assert.strictEqual((await asDev("test -e /tmp/should-not-exist && echo ran || echo not-run")).trim(), "not-run");
    });

    it("after harden: the metadata service answers root and do-agent but refuses the user; sshd serves the pinned key only", async () => {
        await serveMetadata(host!);
        const fetch = `curl -sS --max-time 5 -o /dev/null -w '%{http_code}' ${METADATA_USER_DATA_URL}`;
        // The stand-in really serves the user data, to anyone, before harden.
        assert.strictEqual((await asDev(fetch)).trim(), "200");
        // A droplet's first boot runs Debian's sshd-keygen.service (`ssh-keygen -A`) after
        // cloud-init; the test host's boot is not a first boot, so do what it does here.
        await asDev("sudo -n ssh-keygen -A");
        assert.match(await asDev("ls /etc/ssh"), /ssh_host_rsa_key/);
        // do-agent as its package creates it (useradd --system), before harden as on a droplet.
        await asDev("sudo -n useradd -s /bin/false -M --system do-agent");
        // system-prep's package lists, which harden's installs rely on.
        await asDev("sudo -n apt-get -q update >/dev/null");
        await sshExec(dev, { command: "sudo -n bash -s", stdin: await hardenScript(), dialErrorLimit: 3, execTimeoutMs: 300_000 });

        const userData = await asDev(`sudo -n curl -sS --max-time 5 ${METADATA_USER_DATA_URL}`);
        assert.ok(userData.includes("ed25519_private: |"), "root does not get the user data");
        assert.strictEqual((await asDev(`sudo -n -u do-agent ${fetch}`)).trim(), "200");
        const refused = await asDev(`${fetch} 2>&1 || echo " exit $?"`);
        // Refused at once (curl exit 7, "could not connect"), not left to time out (exit 28).
        assert.match(refused, /^curl: \(7\) Failed to connect to 169\.254\.169\.254 port 80 after \d+ ms: .*\n000 exit 7\n$/);
        // sshd names the pinned key and no other, and the keys first boot added are gone.
        assert.strictEqual((await asDev("sudo -n sshd -T | grep '^hostkey '")).trim(), "hostkey /etc/ssh/ssh_host_ed25519_key");
        assert.deepStrictEqual((await asDev("ls /etc/ssh | grep '^ssh_host_' | sort")).trim().split("\n"), [
            "ssh_host_ed25519_key",
            "ssh_host_ed25519_key.pub",
        ]);
        assert.strictEqual(
            (await asDev("sudo -n ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2")).trim(),
            sha256Fingerprint(hostKey.publicKeyOpenssh),
        );
    });

    it("stays closed when its unit loads the rules again, as at boot", async () => {
        const out = await asDev(
            [
                "sudo -n systemctl is-enabled workstation-metadata-guard.service",
                "sudo -n systemctl restart workstation-metadata-guard.service",
                `curl -sS --max-time 5 -o /dev/null ${METADATA_USER_DATA_URL} 2>/dev/null && echo open || echo closed`,
            ].join("\n"),
        );
        assert.deepStrictEqual(out.trim().split("\n"), ["enabled", "closed"]);
    });

    it("finds the guard in place on a second harden run and skips it", async () => {
        const res = await sshExec(dev, { command: "sudo -n bash -s", stdin: await hardenScript(), dialErrorLimit: 3, execTimeoutMs: 300_000 });
        assert.match(res.stderr, /step metadata-guard: skipped, 169\.254\.169\.254 closed to all but uids 0, \d+/);
    });
});
