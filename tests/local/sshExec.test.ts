// sshExec against an in-process ssh2 server on 127.0.0.1: exec with stdin, exit codes,
// dial retries when the server comes late, and the dial limit.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Server, utils } from "ssh2";
import { dialBackoffMs, DialError, HostKeyMismatchError, RemoteCommandError, shortCommand, sshExec, tail, tryPasswordLogin } from "../../tools/local/sshExec";
import { generateEd25519 } from "../../tools/local/keys";

const hostKeyPair = utils.generateKeyPairSync("ed25519");
const hostKey = hostKeyPair.private;
/** What the server answers with, as an authorized_keys line (connection.hostKey's form). */
const hostPublicLine = hostKeyPair.public.trim();
/** What the server saw: authentication attempts and commands run. */
const seen = { auths: 0, execs: 0 };
const client = generateEd25519();
const clientPub = utils.parseKey(client.publicKeyOpenssh);

/** A server that accepts `client`'s key for user dev, and runs "echo-stdin" / "fail N". */
function startServer(port = 0): Promise<{ server: Server; port: number }> {
    const server = new Server({ hostKeys: [hostKey] }, (conn) => {
        conn.on("authentication", (ctx) => {
            seen.auths++;
            const pub = Array.isArray(clientPub) ? clientPub[0] : clientPub;
            if (ctx.method === "publickey" && ctx.username === "dev" && !(pub instanceof Error) && ctx.key.data.equals(pub.getPublicSSH())) {
                ctx.accept();
            } else if (ctx.method === "password" && ctx.password === "letmein") {
                ctx.accept();
            } else {
                ctx.reject(["publickey", "password"]);
            }
        });
        conn.on("ready", () => {
            conn.on("session", (accept) => {
                const session = accept();
                session.on("exec", (acceptExec, _reject, info) => {
                    seen.execs++;
                    const stream = acceptExec();
                    let input = "";
                    stream.on("data", (d: Buffer) => (input += d.toString()));
                    stream.on("end", () => {
                        const fail = /^fail (\d+)$/.exec(info.command);
                        if (fail) {
                            stream.write("line1\nline2\n");
                            stream.stderr.write("it broke\n");
                            stream.exit(Number(fail[1]));
                        } else {
                            stream.write(`cmd=${info.command} stdin=${input}`);
                            stream.stderr.write("progress\n");
                            stream.exit(0);
                        }
                        stream.end();
                    });
                });
            });
        });
        conn.on("error", () => undefined);
    });
    return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve({ server, port: (server.address() as net.AddressInfo).port })));
}

function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const s = net.createServer();
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

describe("tools/local/sshExec", () => {
    it("names a multi-line command in errors by its first and last lines", () => {
        assert.strictEqual(shortCommand("sudo -n bash -s"), "sudo -n bash -s");
        assert.strictEqual(
            shortCommand("sudo -n bash -c 'set -u\nwork\nexit 124' stage-bound desktop 1800 10"),
            "sudo -n bash -c 'set -u … exit 124' stage-bound desktop 1800 10",
        );
    });

    it("runs the command with the script on stdin and returns stdout and stderr", async () => {
        const { server, port } = await startServer();
        try {
            const res = await sshExec(
                { host: "127.0.0.1", port, user: "dev", privateKey: client.privateKeyOpenssh },
                { command: "sudo -n bash -s", stdin: "echo hello" },
            );
            assert.strictEqual(res.code, 0);
            assert.strictEqual(res.stdout, "cmd=sudo -n bash -s stdin=echo hello");
            assert.strictEqual(res.stderr, "progress\n");
            assert.strictEqual(res.dials, 1);
        } finally {
            server.close();
        }
    });

    it("fails a non-zero exit with the code and the tail of stdout and stderr", async () => {
        const { server, port } = await startServer();
        try {
            await assert.rejects(
                sshExec({ host: "127.0.0.1", port, user: "dev", privateKey: client.privateKeyOpenssh }, { command: "fail 3" }),
                (err: unknown) => {
                    assert.ok(err instanceof RemoteCommandError);
                    assert.strictEqual(err.result.code, 3);
                    assert.match(err.message, /fail 3 exited with code 3 on dev@127\.0\.0\.1/);
                    assert.match(err.message, /line2\n--- stderr \(tail\) ---\nit broke/);
                    return true;
                },
            );
        } finally {
            server.close();
        }
    });

    it("keeps dialing with dialErrorLimit -1 until sshd answers", async () => {
        const port = await freePort();
        let server: Server | undefined;
        const failures: number[] = [];
        setTimeout(() => void startServer(port).then((s) => (server = s.server)), 700);
        try {
            const res = await sshExec(
                { host: "127.0.0.1", port, user: "dev", privateKey: client.privateKeyOpenssh },
                {
                    command: "true",
                    dialErrorLimit: -1,
                    perDialTimeout: 2,
                    totalDialTimeoutMs: 20000,
                    onDialError: (n) => failures.push(n),
                },
            );
            assert.ok(res.dials > 1, `expected retries, got ${res.dials} dial(s)`);
            assert.strictEqual(failures.length, res.dials - 1);
        } finally {
            server?.close();
        }
    });

    it("gives up after dialErrorLimit failed dials and says why", async () => {
        const port = await freePort();
        await assert.rejects(
            sshExec({ host: "127.0.0.1", port, user: "dev", privateKey: client.privateKeyOpenssh }, { command: "true", dialErrorLimit: 2, perDialTimeout: 1 }),
            (err: unknown) => {
                assert.ok(err instanceof DialError);
                assert.strictEqual(err.attempts, 3);
                assert.match(err.message, /after 3 attempts \(dialErrorLimit 2 reached\)/);
                return true;
            },
        );
    });

    it("treats a wrong key as a dial error (retried like the provider does), not as a command failure", async () => {
        const { server, port } = await startServer();
        try {
            const other = generateEd25519();
            await assert.rejects(
                sshExec({ host: "127.0.0.1", port, user: "dev", privateKey: other.privateKeyOpenssh }, { command: "true", dialErrorLimit: 1 }),
                (err: unknown) => err instanceof DialError && /authentication methods failed/.test(err.message),
            );
        } finally {
            server.close();
        }
    });

    it("accepts the pinned host key (an authorized_keys line, comment and all) and runs the command", async () => {
        const { server, port } = await startServer();
        try {
            const res = await sshExec(
                { host: "127.0.0.1", port, user: "dev", privateKey: client.privateKeyOpenssh, hostKey: `${hostPublicLine} some comment` },
                { command: "true" },
            );
            assert.strictEqual(res.code, 0);
        } finally {
            server.close();
        }
    });

    it("refuses a host answering with another key before authenticating or running anything, naming both fingerprints as ssh-keygen prints them", async () => {
        const { server, port } = await startServer();
        const pinned = generateEd25519().publicKeyOpenssh.trim();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostkey-"));
        try {
            // ssh-keygen's own fingerprints of both keys, for the message to be compared against.
            fs.writeFileSync(path.join(dir, "pinned.pub"), `${pinned}\n`);
            fs.writeFileSync(path.join(dir, "presented.pub"), `${hostPublicLine}\n`);
            const fp = (f: string) => execFileSync("ssh-keygen", ["-lf", path.join(dir, f)], { encoding: "utf8" }).split(" ")[1];
            const before = { ...seen };
            const failures: number[] = [];
            await assert.rejects(
                sshExec(
                    { host: "127.0.0.1", port, user: "dev", privateKey: client.privateKeyOpenssh, hostKey: pinned, label: "ws-wait-ready" },
                    {
                        command: "true",
                        dialErrorLimit: -1,
                        totalDialTimeoutMs: 20000,
                        onDialError: (n) => failures.push(n),
                    },
                ),
                (err: unknown) => {
                    assert.ok(err instanceof HostKeyMismatchError, String(err));
                    assert.strictEqual(
                        err.message,
                        `host key mismatch: ws-wait-ready: dev@127.0.0.1:${port} presented ${fp("presented.pub")}, expected ${fp("pinned.pub")} (connection.hostKey); refused before authentication, no command ran`,
                    );
                    return true;
                },
            );
            assert.deepStrictEqual(failures, [1], "a mismatch is not dialed again");
            assert.deepStrictEqual(seen, before, "the server saw an authentication attempt or a command");
        } finally {
            server.close();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("offers the server only the pinned key's type, as the provider's HostKeyAlgorithms does", async () => {
        // A server with only an RSA key cannot agree on an ed25519-only host key algorithm.
        const rsa = utils.generateKeyPairSync("rsa", { bits: 2048 });
        const server = new Server({ hostKeys: [rsa.private] }, (conn) => conn.on("error", () => undefined));
        const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
        try {
            await assert.rejects(
                sshExec(
                    { host: "127.0.0.1", port, user: "dev", privateKey: client.privateKeyOpenssh, hostKey: hostPublicLine },
                    { command: "true", dialErrorLimit: 0 },
                ),
                (err: unknown) => err instanceof DialError && /: Handshake failed: no matching host key format$/.test(err.message),
            );
        } finally {
            server.close();
        }
    });

    it("fails an unparseable hostKey before dialing, as the provider does", async () => {
        await assert.rejects(
            sshExec({ host: "127.0.0.1", port: 1, user: "dev", hostKey: "ssh-ed25519 bm90LWEta2V5" }, { command: "true" }),
            /^Error: failed to parse host key: "ssh-ed25519 bm90LWEta2V5" is not an OpenSSH public key line$/,
        );
    });

    it("tells an accepted password login from a refused one", async () => {
        const { server, port } = await startServer();
        try {
            assert.strictEqual((await tryPasswordLogin("127.0.0.1", port, "dev", "letmein")).outcome, "accepted");
            assert.strictEqual((await tryPasswordLogin("127.0.0.1", port, "dev", "wrong")).outcome, "refused");
        } finally {
            server.close();
        }
    });

    it("backs off from 100 ms by 1.5x up to 5 s", () => {
        assert.deepStrictEqual([1, 2, 3].map(dialBackoffMs), [100, 150, 225]);
        assert.strictEqual(dialBackoffMs(30), 5000);
        assert.strictEqual(tail("a\nb\nc\n", 2), "b\nc");
    });
});
