import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseConfig } from "../../components/config";
import { WORKSTATION_UID, homeVolumeName, volumeMonthlyPrice } from "../../components/homeVolume";
import { Workstation, lifecycleAction } from "../../components/workstation";
import { MOCK_PASSWORD, MOCK_PRIVATE_KEY, Registration, isSecretInput, registrations, settle, unwrap, valueOf } from "./mocks";
import { runProgram, stackValues } from "./program";

const VOLUME = "digitalocean:index/volume:Volume";
const ATTACHMENT = "digitalocean:index/volumeAttachment:VolumeAttachment";

function summary(regs: Registration[]): string[] {
    return regs.map((r) => `${r.type} ${r.name}`).sort();
}

function one(type: string): Registration {
    const found = registrations.filter((r) => r.type === type);
    assert.strictEqual(found.length, 1, `${type}: ${found.length} registrations`);
    return found[0];
}

describe("a stopped workstation (running: false)", () => {
    let outputs: Record<string, pulumi.Output<unknown>>;
    before(async () => {
        outputs = await runProgram(stackValues("dev", { running: false, alertEmails: ["ops@example.com"] }));
    });

    it("keeps the key, password, home volume, firewall and project, and has no droplet, attachment, alerts or stages", () => {
        assert.deepStrictEqual(
            summary(registrations),
            [
                "workstation:index:Workstation ws",
                "workstation:index:SshKeyPair ws",
                "tls:index/privateKey:PrivateKey ws-key",
                "digitalocean:index/sshKey:SshKey ws-sshkey",
                "workstation:index:HostKey ws",
                "tls:index/privateKey:PrivateKey ws-hostkey",
                "random:index/randomPassword:RandomPassword ws-password",
                `${VOLUME} ws-home`,
                "workstation:index:Host ws",
                "digitalocean:index/firewall:Firewall ws-firewall",
                "digitalocean:index/project:Project ws-project",
            ].sort(),
        );
    });

    it("lists only the volume in the project and no droplet in the firewall", () => {
        assert.deepStrictEqual(one("digitalocean:index/project:Project").inputs.resources, ["do:volume:ws-home-id"]);
        assert.deepStrictEqual(one("digitalocean:index/firewall:Firewall").inputs.dropletIds, []);
    });

    it("says it is stopped, what it costs per month while stopped, and how to start it", async () => {
        assert.strictEqual(outputs.state as unknown, "stopped");
        assert.strictEqual(outputs.stoppedMonthlyCost as unknown, 2);
        assert.strictEqual(outputs.startCommand as unknown, "pulumi config set workstation:running true && pulumi up");
        assert.strictEqual(outputs.stopCommand, undefined);
        for (const gone of ["ipv4Address", "sshCommand", "rdpTunnelCommand", "priceMonthly", "timings", "alerts", "verification"]) {
            assert.strictEqual(outputs[gone], undefined, gone);
        }
    });

    it("exports its lifecycle as stopped, with what it costs a month", async () => {
        assert.deepStrictEqual(await valueOf(outputs.lifecycle), { state: "stopped", monthlyCost: 2 });
    });

    it("still exports the same key and password, as secrets", async () => {
        assert.strictEqual(await valueOf(outputs.password), MOCK_PASSWORD);
        assert.strictEqual(await valueOf(outputs.privateKey), MOCK_PRIVATE_KEY);
        assert.strictEqual(await pulumi.isSecret(outputs.password), true);
        assert.strictEqual(await pulumi.isSecret(outputs.privateKey), true);
    });
});

describe("a running workstation with a home volume", () => {
    let outputs: Record<string, pulumi.Output<unknown>>;
    before(async () => {
        outputs = await runProgram(stackValues("dev", { homeVolumeGb: 50 }));
    });

    it("creates the volume in the droplet's region with the configured size, and attaches it to that droplet", () => {
        const volume = one(VOLUME);
        const droplet = one("digitalocean:index/droplet:Droplet");
        assert.deepStrictEqual(
            { name: volume.inputs.name, region: volume.inputs.region, size: volume.inputs.size },
            { name: "workstation-dev-home", region: droplet.inputs.region, size: 50 },
        );
        const attachment = one(ATTACHMENT);
        assert.strictEqual(attachment.inputs.volumeId, "ws-home-id");
        assert.strictEqual(typeof attachment.inputs.dropletId, "number");
        assert.strictEqual(attachment.parentType, "workstation:index:Host");
        assert.deepStrictEqual(one("digitalocean:index/project:Project").inputs.resources, [
            `do:droplet:${attachment.inputs.dropletId}`,
            "do:volume:ws-home-id",
        ]);
    });

    it("parents the volume to the Workstation, not to the Host that loses its droplet on stop", () => {
        assert.strictEqual(one(VOLUME).parentType, "workstation:index:Workstation");
    });

    it("gives the user a fixed UID in cloud-config and tells home-volume the device name and ids", () => {
        const userData = String(unwrap(one("digitalocean:index/droplet:Droplet").inputs.userData));
        assert.match(userData, /^ {2}- name: dev\n {4}uid: 1500\n/m);
        const stage = registrations.find((r) => r.type === "command:remote:Command" && r.name === "ws-home-volume")!;
        const script = String(unwrap(stage.inputs.stdin));
        assert.match(script, /^WS_HOME_VOLUME_NAME='workstation-dev-home'$/m);
        assert.match(script, /^WS_UID='1500'$/m);
        assert.match(script, /^WS_GID='1500'$/m);
        assert.ok(isSecretInput(stage.inputs.connection));
        assert.strictEqual(WORKSTATION_UID, 1500);
    });

    it("exports the state, the volume and its price, and how to stop", async () => {
        assert.strictEqual(outputs.state as unknown, "running");
        assert.strictEqual(outputs.stoppedMonthlyCost as unknown, 5);
        assert.strictEqual(outputs.stopCommand as unknown, "pulumi config set workstation:running false && pulumi up");
        assert.strictEqual(outputs.startCommand, undefined);
        const home = outputs.homeVolume as unknown as { name: pulumi.Output<string>; sizeGb: number; priceMonthly: number };
        assert.deepStrictEqual(
            { name: await valueOf(home.name), sizeGb: home.sizeGb, priceMonthly: home.priceMonthly },
            { name: "workstation-dev-home", sizeGb: 50, priceMonthly: 5 },
        );
    });
});

describe("the home volume is deleted in no path but destroy", () => {
    /** The volume's URN and inputs after running the program with these overrides. */
    async function volumeAfter(overrides: Record<string, unknown>): Promise<{ urn: string; name: unknown; region: unknown }> {
        await runProgram(stackValues("dev", overrides));
        const v = one(VOLUME);
        assert.ok(v.urn, "no URN recorded");
        return { urn: v.urn, name: v.inputs.name, region: v.inputs.region };
    }

    it("keeps one URN and name through stop, start, a new username, size and image", async () => {
        const first = await volumeAfter({});
        for (const overrides of [
            { running: false },
            { running: true },
            { username: "alice" },
            { size: "s-4vcpu-8gb" },
            { image: "ubuntu-24-04-x64" },
            { username: "bob", running: false },
            { ides: ["vscode"], desktop: false },
        ]) {
            assert.deepStrictEqual(await volumeAfter(overrides), first, JSON.stringify(overrides));
        }
        assert.match(first.urn, /^urn:pulumi:dev::workstation::workstation:index:Workstation\$digitalocean:index\/volume:Volume::ws-home$/);
    });

    /** The options the program gives the volume, seen through a transformation on the Workstation. */
    async function volumeOptions(stack: string): Promise<pulumi.CustomResourceOptions> {
        const values = stackValues(stack);
        const config = parseConfig((k) => values[`workstation:${k}`], stack);
        let seen: pulumi.CustomResourceOptions | undefined;
        registrations.length = 0;
        new Workstation(
            "opts",
            { config, stack },
            {
                transformations: [
                    (args) => {
                        if (args.type === VOLUME) seen = args.opts;
                        return undefined;
                    },
                ],
            },
        );
        await settle();
        assert.ok(seen, "no volume registered");
        return seen;
    }

    it("protects the volume in prod only, and never follows a region change (that would replace it)", async () => {
        const prod = await volumeOptions("prod");
        assert.strictEqual(prod.protect, true);
        assert.deepStrictEqual(prod.ignoreChanges, ["region"]);
        const dev = await volumeOptions("dev");
        assert.strictEqual(dev.protect, false);
        assert.deepStrictEqual(dev.ignoreChanges, ["region"]);
        assert.strictEqual(dev.retainOnDelete, undefined, "a destroy must still delete it outside prod");
    });

    it("names the volume after the stack alone, within DigitalOcean's rules", () => {
        assert.strictEqual(homeVolumeName("dev"), "workstation-dev-home");
        assert.strictEqual(homeVolumeName("Prod_EU.1"), "workstation-prod-eu-1-home");
        assert.strictEqual(homeVolumeName("x".repeat(80)).length, 64);
    });
});

describe("without a home volume (homeVolumeGb: 0)", () => {
    it("creates no volume, no attachment and no home-volume stage, and costs nothing while stopped", async () => {
        const outputs = await runProgram(stackValues("dev", { homeVolumeGb: 0 }));
        assert.strictEqual(registrations.filter((r) => r.type === VOLUME || r.type === ATTACHMENT).length, 0);
        assert.ok(!registrations.some((r) => r.name === "ws-home-volume"));
        assert.strictEqual(outputs.stoppedMonthlyCost as unknown, 0);
        assert.strictEqual(outputs.homeVolume, undefined);
        assert.strictEqual(volumeMonthlyPrice(0), 0);
    });
});

describe("the lifecycle output of a running workstation (start timing)", () => {
    it("says this up started it (the droplet is new) and how many seconds it took to ready, from the up's start", async () => {
        const before = Date.now();
        const outputs = await runProgram(stackValues("dev"));
        const elapsed = (Date.now() - before) / 1000;
        const lifecycle = (await valueOf(outputs.lifecycle)) as { state: string; action: string; readySeconds: number };
        assert.deepStrictEqual(Object.keys(lifecycle).sort(), ["action", "readySeconds", "state"]);
        assert.strictEqual(lifecycle.state, "running");
        assert.strictEqual(lifecycle.action, "start");
        assert.ok(lifecycle.readySeconds >= 0 && lifecycle.readySeconds <= elapsed + 0.1, `${lifecycle.readySeconds} s, the run took ${elapsed} s`);
    });

    it("tells a start (droplet created in this up) from an update (droplet from an earlier up)", () => {
        const up = Date.parse("2026-12-03T12:00:00Z");
        assert.strictEqual(lifecycleAction("2026-12-03T12:00:40Z", up), "start");
        assert.strictEqual(lifecycleAction("2026-12-03T11:59:30Z", up), "start", "a clock 30 s apart from DigitalOcean's");
        assert.strictEqual(lifecycleAction("2026-12-03T11:50:00Z", up), "update");
        assert.throws(() => lifecycleAction(undefined, up), /the droplet's createdAt undefined is no time/);
    });
});

describe("the droplet's idle-stop tag (what the droplet-idle-stop-outside-prod policy reads)", () => {
    const idleTags = (): string[] => (one("digitalocean:index/droplet:Droplet").inputs.tags as string[]).filter((t) => t.startsWith("idle-stop"));
    it("says the stack's idle minutes (dev: 120)", async () => {
        await runProgram(stackValues("dev"));
        assert.deepStrictEqual(idleTags(), ["idle-stop:120"]);
    });
    it("says off when idleStopMinutes is 0", async () => {
        await runProgram(stackValues("dev", { idleStopMinutes: 0 }));
        assert.deepStrictEqual(idleTags(), ["idle-stop:off"]);
    });
});

describe("lifecycle config is refused when bad, before anything is created", () => {
    const cases: [string, Record<string, unknown>, string][] = [
        [
            "a negative volume size",
            { homeVolumeGb: -1 },
            `workstation:homeVolumeGb: "-1" is not allowed; expected 0 (no home volume) or a whole number of GiB from 1 to 16384`,
        ],
        [
            "a volume over 16 TiB",
            { homeVolumeGb: 16385 },
            `workstation:homeVolumeGb: "16385" is not allowed; expected 0 (no home volume) or a whole number of GiB from 1 to 16384`,
        ],
        ["a volume size with a unit", { homeVolumeGb: "20GB" }, `workstation:homeVolumeGb: "20GB" is not allowed`],
        ["a fractional volume size", { homeVolumeGb: 1.5 }, `workstation:homeVolumeGb: "1.5" is not allowed`],
        ["running that is not a boolean", { running: "no" }, `workstation:running: "no" is not allowed; expected true or false`],
        [
            "an idle limit of five minutes",
            { idleStopMinutes: 5 },
            `workstation:idleStopMinutes: "5" is not allowed; expected 0 (never stop) or whole minutes from 15 to 10080`,
        ],
        ["a negative idle limit", { idleStopMinutes: -30 }, `workstation:idleStopMinutes: "-30" is not allowed`],
        [
            "a home volume in a region without volumes",
            { region: "nyc2" },
            `workstation:region: "nyc2" offers no volumes, so it cannot hold a home volume of 20 GiB; choose one of ams3, atl1`,
        ],
    ];
    for (const [what, overrides, message] of cases) {
        it(`refuses ${what}`, async () => {
            await assert.rejects(runProgram(stackValues("dev", overrides)), (err: unknown) => {
                assert.ok(err instanceof ConfigError, `not a ConfigError: ${err}`);
                assert.ok(err.message.includes(message), `message lacks ${JSON.stringify(message)}:\n${err.message}`);
                return true;
            });
            assert.strictEqual(registrations.length, 0);
        });
    }

    it("accepts a region without volumes when there is no home volume", async () => {
        await runProgram(stackValues("dev", { region: "nyc2", homeVolumeGb: 0 }));
        assert.strictEqual(one("digitalocean:index/droplet:Droplet").inputs.region, "nyc2");
    });
});
