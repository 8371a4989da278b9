// MockCloud's dispatch called directly, as the mock monitor calls it.
import * as assert from "assert";
import { generateEd25519 } from "../../local/keys";
import { CloudBackend, MockCloud, SECRET_SIG_KEY, SECRET_SIG_VALUE } from "../../local/mockCloud";

function backend(overrides: Partial<CloudBackend> = {}): CloudBackend {
    return {
        keyFor: () => generateEd25519(),
        passwordFor: () => "pw",
        createDroplet: async () => ({ hostName: "h", ip: "10.213.5.2" }),
        exec: async () => ({ code: 0, signal: null, stdout: "", stderr: "", dials: 1 }),
        ...overrides,
    };
}

const args = (type: string, name: string, inputs: Record<string, unknown>) => ({ type, name, inputs, custom: true });

describe("local/mockCloud dispatch", () => {
    it("refuses a resource type it has no mock for, naming it", async () => {
        const cloud = new MockCloud({ backend: backend(), sizes: {} });
        await assert.rejects(Promise.resolve(cloud.newResource(args("aws:s3/bucket:Bucket", "b", {}))), /no mock for resource type aws:s3\/bucket:Bucket \(b\)/);
        assert.deepStrictEqual(cloud.failures.map((f) => f.name), ["b"]);
    });

    it("returns components with an id and their inputs", async () => {
        const cloud = new MockCloud({ backend: backend(), sizes: {} });
        const r = await cloud.newResource(args("workstation:index:Host", "ws", { a: 1 }));
        assert.deepStrictEqual(r, { id: "ws-component", state: { a: 1 } });
    });

    it("refuses a droplet whose keys no SshKey registered, and a size not in the table", async () => {
        const cloud = new MockCloud({ backend: backend(), sizes: { "s-1": { priceMonthly: 6, vcpus: 1, memoryMb: 1024, diskGb: 25 } } });
        await assert.rejects(Promise.resolve(cloud.newResource(args("digitalocean:index/droplet:Droplet", "d", { size: "s-1", sshKeys: ["aa:bb"] }))), /none of the droplet's sshKeys was registered/);
        await assert.rejects(Promise.resolve(cloud.newResource(args("digitalocean:index/droplet:Droplet", "d", { size: "s-9", sshKeys: [] }))), /size "s-9" is not in data\/do-sizes.json/);
    });

    it("marks additionalSecretOutputs secret in the state it returns", async () => {
        const cloud = new MockCloud({ backend: backend(), sizes: {} });
        cloud.noteSecretOutputs("random:index/randomPassword:RandomPassword", "p", ["result"]);
        const r = await cloud.newResource(args("random:index/randomPassword:RandomPassword", "p", { length: 8 }));
        assert.deepStrictEqual(r.state.result, { [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value: "pw" });
    });

    it("runs a command's create with its stdin over the connection it was given, host key included, secrets unwrapped", async () => {
        const seen: unknown[] = [];
        const cloud = new MockCloud({
            sizes: {},
            backend: backend({
                exec: async (target, opts, meta) => {
                    seen.push({ target, command: opts.command, stdin: opts.stdin, limit: opts.dialErrorLimit, perDial: opts.perDialTimeout, meta });
                    return { code: 0, signal: null, stdout: "hi\n::workstation-timing:: {\"stage\":\"x\",\"start\":1,\"end\":2,\"seconds\":1,\"status\":\"ok\"}\n", stderr: "", dials: 1 };
                },
            }),
        });
        const wrap = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value });
        const r = await cloud.newResource(args("command:remote:Command", "ws-x", {
            connection: wrap({ host: "10.213.5.2", user: "dev", privateKey: "KEY", hostKey: "ssh-ed25519 AAAAHOST", dialErrorLimit: -1, perDialTimeout: 15 }),
            create: "sudo -n bash -s",
            stdin: wrap("echo hi"),
            logging: "none",
        }));
        assert.deepStrictEqual(seen, [{
            target: { host: "10.213.5.2", port: 22, user: "dev", privateKey: "KEY", password: undefined, hostKey: "ssh-ed25519 AAAAHOST", label: "ws-x" },
            command: "sudo -n bash -s",
            stdin: "echo hi",
            limit: -1,
            perDial: 15,
            meta: { name: "ws-x", logging: "none" },
        }]);
        assert.match(String(r.state.stdout), /^hi\n/);
        assert.strictEqual(cloud.stages[0].stage, "x");
        assert.strictEqual(cloud.stages[0].timing?.seconds, 1);
    });
});
