// The image stack (config role: image) and a workstation started from it (imageStack),
// through the real index.ts under the shared mocks.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseConfig } from "../../components/config";
import { snapshotsToPrune } from "../../components/image";
import { installGraph } from "../../components/stages";
import { MOCK_GENERALISED, MOCK_IMAGE_OUTPUTS, MOCK_IMAGE_STACK, Registration, registrations, unwrap, valueOf } from "./mocks";
import { runProgram, stackValues } from "./program";

const INSTALL = ["wait-ready", "system-prep", "desktop", "ide-vscode", "ide-cursor", "ide-antigravity", "monitor"];

function ofType(type: string): Registration[] {
    return registrations.filter((r) => r.type === type);
}

describe("the image stack (role: image)", () => {
    let outputs: Record<string, pulumi.Output<unknown> | undefined>;
    before(async () => {
        outputs = await runProgram(stackValues("dev", { role: "image", imageBake: "2026-12-03" }));
    });

    it("builds a builder with the install stages only, no workstation of its own", () => {
        const stages = ofType("workstation:index:ProvisioningStage")
            .map((r) => r.name)
            .sort();
        assert.deepStrictEqual(stages, INSTALL.map((s) => `image-${s}`).sort());
        assert.deepStrictEqual(
            ofType("workstation:index:Workstation").map((r) => r.name),
            ["image"],
        );
        assert.strictEqual(ofType("workstation:index:Workstation")[0].parentType, "workstation:index:WorkstationImage");
        assert.strictEqual(ofType("digitalocean:index/droplet:Droplet").length, 1);
        assert.strictEqual(ofType("digitalocean:index/droplet:Droplet")[0].inputs.image, "debian-13-x64", "the builder starts from the base image");
    });

    it("tags the builder without idle-stop: it is no workstation, and its bake deletes it", () => {
        assert.deepStrictEqual(ofType("digitalocean:index/droplet:Droplet")[0].inputs.tags, ["workstation", "environment:dev", "owner:platform-team"]);
    });

    it("generalises after every install stage, then snapshots the builder's droplet under the bake's name", () => {
        const order = registrations.map((r) => `${r.type} ${r.name}`);
        const generalise = order.indexOf("command:remote:Command image-generalise");
        const snapshot = order.indexOf("digitalocean:index/dropletSnapshot:DropletSnapshot image-snapshot");
        assert.ok(generalise > 0 && snapshot > generalise, `generalise at ${generalise}, snapshot at ${snapshot}`);
        for (const s of INSTALL) assert.ok(order.indexOf(`command:remote:Command image-${s}`) < generalise, `${s} before generalise`);
        const snap = ofType("digitalocean:index/dropletSnapshot:DropletSnapshot")[0];
        // The builder's droplet id, as its firewall names it (the only droplet of the stack).
        const [builderId] = ofType("digitalocean:index/firewall:Firewall")[0].inputs.dropletIds as number[];
        assert.deepStrictEqual(
            { dropletId: snap.inputs.dropletId, name: snap.inputs.name },
            { dropletId: String(builderId), name: "workstation-image-dev-2026-12-03" },
        );
        const gen = ofType("command:remote:Command").find((r) => r.name === "image-generalise")!;
        assert.match(
            String(gen.inputs.create),
            /^sudo -n bash -s -- --poweroff --packages 'xfce4 xrdp xorgxrdp code cursor antigravity-ide antigravity openssh-server'$/,
        );
        assert.match(String(unwrap(gen.inputs.stdin)), /^# generalise: turn a provisioned builder/m);
    });

    it("exports the snapshot id, its name, the bake time and the versions in it", async () => {
        assert.strictEqual(await valueOf(outputs.snapshotId!), "image-snapshot-id");
        assert.strictEqual(await valueOf(outputs.snapshotName!), "workstation-image-dev-2026-12-03");
        assert.strictEqual(await valueOf(outputs.bakedAt!), MOCK_GENERALISED.at);
        assert.deepStrictEqual(await valueOf(outputs.contents!), MOCK_GENERALISED.packages);
        assert.strictEqual(outputs.ipv4Address, undefined, "an image stack exports no workstation");
    });

    it("on the bake's second up (imageBuilder: false) drops the builder and keeps the snapshot", async () => {
        await runProgram(stackValues("dev", { role: "image", imageBake: "2026-12-03", imageBuilder: false }));
        assert.deepStrictEqual(ofType("digitalocean:index/droplet:Droplet"), []);
        assert.deepStrictEqual(ofType("workstation:index:ProvisioningStage"), []);
        assert.deepStrictEqual(
            ofType("digitalocean:index/dropletSnapshot:DropletSnapshot").map((r) => r.inputs.name),
            ["workstation-image-dev-2026-12-03"],
        );
    });
});

describe("a workstation from an image stack (imageStack)", () => {
    before(async () => {
        await runProgram(stackValues("dev", { imageStack: MOCK_IMAGE_STACK }));
    });

    it("reads the image stack's snapshotId through a StackReference and boots from it", () => {
        assert.deepStrictEqual(
            ofType("pulumi:pulumi:StackReference").map((r) => r.inputs.name),
            [MOCK_IMAGE_STACK],
        );
        assert.strictEqual(ofType("digitalocean:index/droplet:Droplet")[0].inputs.image, MOCK_IMAGE_OUTPUTS.snapshotId);
    });

    it("tells system-prep when the image was baked and how old it may be", () => {
        const prep = registrations.find((r) => r.type === "command:remote:Command" && r.name === "ws-system-prep")!;
        const stdin = String(unwrap(prep.inputs.stdin));
        assert.match(stdin, new RegExp(`^WS_IMAGE_BAKED_AT='${MOCK_IMAGE_OUTPUTS.bakedAt}'$`, "m"));
        assert.match(stdin, /^WS_IMAGE_MAX_AGE_DAYS='14'$/m);
    });

    it("still runs every per-workstation stage", () => {
        const stages = ofType("command:remote:Command").map((r) => r.name.slice("ws-".length));
        for (const s of ["system-prep", "verify", "harden", "report"]) assert.ok(stages.includes(s), s);
    });

    it("without imageStack, system-prep gets no image variables", async () => {
        await runProgram(stackValues("dev"));
        const prep = registrations.find((r) => r.name === "ws-system-prep" && r.type === "command:remote:Command")!;
        assert.doesNotMatch(String(unwrap(prep.inputs.stdin)), /^WS_IMAGE_BAKED_AT=/m);
    });
});

describe("image configuration", () => {
    const problems = (values: Record<string, string>): string[] => {
        try {
            parseConfig((k) => values[k], "dev", Object.keys(values));
            return [];
        } catch (e) {
            return (e as ConfigError).problems;
        }
    };

    it("refuses a role it does not know, naming the allowed ones", () => {
        assert.match(problems({ role: "builder" })[0], /^workstation:role: "builder" is not allowed.*expected one of workstation, image$/);
    });

    it("refuses an image stack without a bake id", () => {
        assert.deepStrictEqual(problems({ role: "image" }), [
            "workstation:imageBake: an image stack needs a bake id, such as the date (2026-12-03); it names the snapshot",
        ]);
    });

    it("refuses imageStack together with another image, and a malformed stack name", () => {
        assert.match(
            problems({ imageStack: MOCK_IMAGE_STACK, image: "ubuntu-24-04-x64" })[0],
            /imageStack: "acme\/workstation\/image" and workstation:image "ubuntu-24-04-x64" both name/,
        );
        assert.match(problems({ imageStack: "image" })[0], /^workstation:imageStack: "image" is not allowed.*expected an image stack as org\/project\/stack$/);
    });

    it("refuses an age or a keep count out of range", () => {
        assert.match(problems({ imageMaxAgeDays: "0" })[0], /^workstation:imageMaxAgeDays: "0" is not allowed; expected a whole number from 1 to 365$/);
        assert.match(problems({ imageKeep: "2.5" })[0], /^workstation:imageKeep: "2.5" is not allowed; expected a whole number from 1 to 50$/);
    });
});

describe("install graph and pruning", () => {
    it("the install graph keeps the install stages and their order, nothing per-workstation", () => {
        assert.deepStrictEqual(installGraph(["vscode"], true), {
            "wait-ready": [],
            "system-prep": ["wait-ready"],
            desktop: ["system-prep"],
            "ide-vscode": ["system-prep"],
            monitor: ["system-prep"],
        });
    });

    it("prunes this stack's snapshots beyond the newest N, never another stack's", () => {
        const list = [
            { id: "1", name: "workstation-image-image-2026-11-12", createdAt: "2026-11-12T04:00:00Z" },
            { id: "2", name: "workstation-image-image-2026-11-26", createdAt: "2026-11-26T04:00:00Z" },
            { id: "3", name: "workstation-image-image-2026-11-19", createdAt: "2026-11-19T04:00:00Z" },
            { id: "4", name: "workstation-image-image-2026-12-03", createdAt: "2026-12-03T04:00:00Z" },
            { id: "5", name: "workstation-image-other-2026-10-01", createdAt: "2026-10-01T04:00:00Z" },
            { id: "6", name: "my-manual-backup", createdAt: "2026-01-01T04:00:00Z" },
        ];
        assert.deepStrictEqual(
            snapshotsToPrune(list, "image", 2).map((s) => s.id),
            ["3", "1"],
        );
        assert.deepStrictEqual(snapshotsToPrune(list, "image", 5), []);
        assert.throws(() => snapshotsToPrune(list, "image", 0), /keep must be a whole number of at least 1, got 0/);
    });
});
