// MockCloud's dispatch called directly, as the mock monitor calls it.
import * as assert from "assert";
import { generateEd25519 } from "../../tools/local/keys";
import { CloudBackend, MockCloud, SECRET_SIG_KEY, SECRET_SIG_VALUE, parseGoDurationMs } from "../../tools/local/mockCloud";
import type { ExecOptions } from "../../tools/local/sshExec";

function backend(overrides: Partial<CloudBackend> = {}): CloudBackend {
    return {
        keyFor: () => generateEd25519(),
        passwordFor: () => "pw",
        createDroplet: async () => ({ hostName: "h", ip: "10.213.5.2" }),
        createVolume: async () => undefined,
        attachVolume: async () => undefined,
        exec: async () => ({ code: 0, signal: null, stdout: "", stderr: "", dials: 1 }),
        ...overrides,
    };
}

const args = (type: string, name: string, inputs: Record<string, unknown>) => ({ type, name, inputs, custom: true });

describe("tools/local/mockCloud dispatch", () => {
    it("refuses a resource type it has no mock for, naming it", async () => {
        const cloud = new MockCloud({ backend: backend(), sizes: {} });
        await assert.rejects(
            Promise.resolve(cloud.newResource(args("aws:s3/bucket:Bucket", "b", {}))),
            /no mock for resource type aws:s3\/bucket:Bucket \(b\)/,
        );
        assert.deepStrictEqual(
            cloud.failures.map((f) => f.name),
            ["b"],
        );
    });

    it("returns components with an id and their inputs", async () => {
        const cloud = new MockCloud({ backend: backend(), sizes: {} });
        const r = await cloud.newResource(args("workstation:index:Host", "ws", { a: 1 }));
        assert.deepStrictEqual(r, { id: "ws-component", state: { a: 1 } });
    });

    it("refuses a droplet whose keys no SshKey registered, and a size not in the table", async () => {
        const cloud = new MockCloud({ backend: backend(), sizes: { "s-1": { priceMonthly: 6, vcpus: 1, memoryMb: 1024, diskGb: 25 } } });
        await assert.rejects(
            Promise.resolve(cloud.newResource(args("digitalocean:index/droplet:Droplet", "d", { size: "s-1", sshKeys: ["aa:bb"] }))),
            /none of the droplet's sshKeys was registered/,
        );
        await assert.rejects(
            Promise.resolve(cloud.newResource(args("digitalocean:index/droplet:Droplet", "d", { size: "s-9", sshKeys: [] }))),
            /size "s-9" is not in data\/do-sizes.json/,
        );
    });

    it("creates a volume and attaches it to the droplet's test host, refusing what DigitalOcean refuses", async () => {
        const made: unknown[] = [];
        const attached: unknown[] = [];
        const cloud = new MockCloud({
            sizes: { "s-1": { priceMonthly: 6, vcpus: 1, memoryMb: 1024, diskGb: 25 } },
            backend: backend({
                createDroplet: async () => ({ hostName: "wslc-1", ip: "10.213.5.2" }),
                createVolume: async (req) => {
                    made.push(req);
                },
                attachVolume: async (volume, host) => {
                    attached.push([volume, host]);
                },
            }),
        });
        const vol = (inputs: Record<string, unknown>) => Promise.resolve(cloud.newResource(args("digitalocean:index/volume:Volume", "v", inputs)));
        await assert.rejects(vol({ name: "Home_1", region: "fra1", size: 20 }), /volume name "Home_1" is not lower-case letters/);
        await assert.rejects(vol({ name: "home", region: "mars1", size: 20 }), /region "mars1" offers no volumes/);
        await assert.rejects(vol({ name: "home", region: "fra1", size: 0 }), /size 0 is not a whole number of GiB/);
        await assert.rejects(vol({ name: "home", region: "fra1", size: 2.5 }), /size 2.5 is not a whole number of GiB/);
        assert.deepStrictEqual(made, [], "nothing is created for a refused volume");
        const v = await vol({ name: "workstation-dev-home", region: "fra1", size: 20 });
        assert.deepStrictEqual(made, [{ resourceName: "v", volumeName: "workstation-dev-home", region: "fra1", sizeGib: 20 }]);
        const key = await cloud.newResource(args("digitalocean:index/sshKey:SshKey", "k", { publicKey: generateEd25519().publicKeyOpenssh }));
        const d = await cloud.newResource(args("digitalocean:index/droplet:Droplet", "d", { size: "s-1", region: "fra1", sshKeys: [key.id] }));
        const d2 = await cloud.newResource(args("digitalocean:index/droplet:Droplet", "d2", { size: "s-1", region: "nyc3", sshKeys: [key.id] }));
        const attach = (inputs: Record<string, unknown>) =>
            Promise.resolve(cloud.newResource(args("digitalocean:index/volumeAttachment:VolumeAttachment", "a", inputs)));
        await assert.rejects(attach({ dropletId: 1, volumeId: v.id }), /no droplet 1/);
        await assert.rejects(attach({ dropletId: Number(d.id), volumeId: "nope" }), /no volume "nope"/);
        await assert.rejects(attach({ dropletId: Number(d2.id), volumeId: v.id }), /volume in fra1, droplet in nyc3; they must share a region/);
        assert.deepStrictEqual(attached, []);
        await attach({ dropletId: Number(d.id), volumeId: v.id });
        assert.deepStrictEqual(attached, [["workstation-dev-home", "wslc-1"]]);
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
                    return {
                        code: 0,
                        signal: null,
                        stdout: 'hi\n::workstation-timing:: {"stage":"x","start":1,"end":2,"seconds":1,"status":"ok"}\n',
                        stderr: "",
                        dials: 1,
                    };
                },
            }),
        });
        const wrap = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value });
        const r = await cloud.newResource(
            args("command:remote:Command", "ws-x", {
                connection: wrap({
                    host: "10.213.5.2",
                    user: "dev",
                    privateKey: "KEY",
                    hostKey: "ssh-ed25519 AAAAHOST",
                    dialErrorLimit: -1,
                    perDialTimeout: 15,
                }),
                create: "sudo -n bash -s",
                stdin: wrap("echo hi"),
                logging: "none",
                addPreviousOutputInEnv: false,
            }),
        );
        assert.deepStrictEqual(seen, [
            {
                target: { host: "10.213.5.2", port: 22, user: "dev", privateKey: "KEY", password: undefined, hostKey: "ssh-ed25519 AAAAHOST", label: "ws-x" },
                command: "sudo -n bash -s",
                stdin: "echo hi",
                limit: -1,
                perDial: 15,
                meta: { name: "ws-x", logging: "none" },
            },
        ]);
        assert.match(String(r.state.stdout), /^hi\n/);
        assert.strictEqual(cloud.stages[0].stage, "x");
        assert.strictEqual(cloud.stages[0].timing?.seconds, 1);
    });

    it("warns, as the provider would on every update, about a command that would send its previous output as SSH env", async () => {
        const events: unknown[] = [];
        const cloud = new MockCloud({ backend: backend(), sizes: {}, onEvent: (e) => events.push(e) });
        const command = (name: string, extra: Record<string, unknown>) =>
            cloud.newResource(
                args("command:remote:Command", name, {
                    connection: { host: "10.213.5.2", user: "dev" },
                    create: "true",
                    ...extra,
                }),
            );
        await command("ws-quiet", { addPreviousOutputInEnv: false });
        await command("ws-loud", {});
        assert.deepStrictEqual(
            cloud.warnings.map((w) => w.name),
            ["ws-loud"],
        );
        assert.match(
            cloud.warnings[0].message,
            /^addPreviousOutputInEnv is not false: on every update pulumi-command would send the previous stdout and stderr as the SSH environment variables PULUMI_COMMAND_STDOUT and PULUMI_COMMAND_STDERR, which sshd refuses unless AcceptEnv allows them/,
        );
        assert.deepStrictEqual(events.filter((e) => (e as { kind: string }).kind === "warning").length, 1);
    });

    it("makes customTimeouts.create the deadline of the dialing only, as pulumi-command does", async () => {
        const seen: ExecOptions[] = [];
        const cloud = new MockCloud({
            sizes: {},
            backend: backend({
                exec: async (_t, opts) => {
                    seen.push(opts);
                    return { code: 0, signal: null, stdout: "", stderr: "", dials: 1 };
                },
            }),
        });
        cloud.noteCreateTimeout("command:remote:Command", "ws-a", "900s");
        cloud.noteCreateTimeout("command:remote:Command", "ws-b", "");
        const run = (name: string, limit: number) =>
            cloud.newResource(
                args("command:remote:Command", name, {
                    connection: { host: "10.213.5.2", user: "dev", dialErrorLimit: limit },
                    create: "true",
                    addPreviousOutputInEnv: false,
                }),
            );
        await run("ws-a", 10);
        await run("ws-b", -1);
        await run("ws-c", 10);
        assert.deepStrictEqual(
            seen.map((o) => [o.totalDialTimeoutMs, o.execTimeoutMs]),
            [
                [900_000, undefined],
                [600_000, undefined],
                [undefined, undefined],
            ],
        );
        assert.strictEqual(parseGoDurationMs("1h30m"), 5_400_000);
        assert.strictEqual(parseGoDurationMs("1.5s"), 1500);
        assert.throws(() => parseGoDurationMs("15 minutes"), /customTimeouts value "15 minutes" is not a duration like 900s, 15m or 1h30m/);
    });
});

describe("tools/local/mockCloud DropletSnapshot", () => {
    const SIZES = { "s-1": { priceMonthly: 6, vcpus: 1, memoryMb: 1024, diskGb: 25 } };
    const PUBLIC = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockMockMockMockMockMockMockMockMockMockMo k";

    it("bakes the host behind the droplet under a numeric snapshot id, and refuses what the provider refuses", async () => {
        const baked: { hostName: string; snapshotId: string; snapshotName: string }[] = [];
        const cloud = new MockCloud({
            backend: backend({
                createDroplet: async () => ({ hostName: "wsimg1", ip: "10.213.5.2" }),
                snapshotDroplet: async (r) => {
                    baked.push(r);
                },
            }),
            sizes: SIZES,
        });
        const key = await cloud.newResource(args("digitalocean:index/sshKey:SshKey", "k", { publicKey: PUBLIC, name: "k" }));
        const droplet = await cloud.newResource(args("digitalocean:index/droplet:Droplet", "d", { size: "s-1", sshKeys: [key.id], image: "debian-13-x64" }));
        const snap = await cloud.newResource(
            args("digitalocean:index/dropletSnapshot:DropletSnapshot", "s", { dropletId: droplet.id, name: "workstation-image-dev-1" }),
        );
        assert.match(String(snap.id), /^[0-9]+$/);
        assert.deepStrictEqual(
            baked.map((b) => [b.hostName, b.snapshotId, b.snapshotName]),
            [["wsimg1", snap.id, "workstation-image-dev-1"]],
        );
        await assert.rejects(
            Promise.resolve(cloud.newResource(args("digitalocean:index/dropletSnapshot:DropletSnapshot", "s2", { dropletId: "999", name: "n" }))),
            /droplet 999 does not exist/,
        );
        await assert.rejects(
            Promise.resolve(cloud.newResource(args("digitalocean:index/dropletSnapshot:DropletSnapshot", "s3", { name: "n" }))),
            /s3: dropletId is required/,
        );
        await assert.rejects(
            Promise.resolve(cloud.newResource(args("digitalocean:index/dropletSnapshot:DropletSnapshot", "s4", { dropletId: droplet.id }))),
            /s4: name is required/,
        );
    });
});
