import * as assert from "assert";
import * as proxy from "@pulumi/policy/proxy";
import {
    dropletBackupsInProd,
    dropletIdleStopOutsideProd,
    dropletMonitoring,
    dropletNoPasswordLogin,
    dropletRegionAllowed,
    dropletRequiredTags,
    dropletSizeMinimum,
    dropletSizeRecommended,
    dropletSshKeyRequired,
} from "../../policies/droplet";
import { checkResource, droplet } from "./helpers";

/** The policy framework's placeholder for a value not known until the update (e.g. a new key's id). */
const unknownString = (proxy as unknown as Record<string, unknown>).unknownStringValue;

describe("droplet-ssh-key-required", () => {
    it("passes a droplet with a key", async () => {
        assert.deepStrictEqual(await checkResource(dropletSshKeyRequired, droplet()), { violations: [] });
    });
    it("passes during preview, when the key's id is not known yet", async () => {
        assert.ok(unknownString !== undefined);
        assert.deepStrictEqual(await checkResource(dropletSshKeyRequired, droplet({ sshKeys: [unknownString] })), { violations: [] });
    });
    it("rejects a droplet with an empty or missing key list", async () => {
        const message = 'Droplet "ws-droplet" has no SSH key: set sshKeys so that login is by key, never by a root password.';
        assert.deepStrictEqual((await checkResource(dropletSshKeyRequired, droplet({ sshKeys: [] }))).violations, [message]);
        assert.deepStrictEqual((await checkResource(dropletSshKeyRequired, droplet({ sshKeys: undefined }))).violations, [message]);
    });
});

describe("droplet-no-password-login", () => {
    it("passes cloud-config that keeps password SSH off", async () => {
        assert.deepStrictEqual(await checkResource(dropletNoPasswordLogin, droplet()), { violations: [] });
    });
    it("names every way the user data turns password login on", async () => {
        const userData = [
            "#cloud-config",
            "ssh_pwauth: true",
            "chpasswd:",
            "  expire: false",
            "users:",
            "  - name: root",
            "    passwd: $6$abc",
            "runcmd:",
            "  - sed -i 's/^#PasswordAuthentication.*/PasswordAuthentication yes/' /etc/ssh/sshd_config",
        ].join("\n");
        const { violations } = await checkResource(dropletNoPasswordLogin, droplet({ userData }));
        assert.deepStrictEqual(violations, [
            'Droplet "ws-droplet" user data enables password login (chpasswd, ssh_pwauth: true, PasswordAuthentication yes, passwd:): ' +
                "remove it; sign-in is by SSH key only.",
        ]);
    });
    it("catches a root password set from a shell script", async () => {
        const { violations } = await checkResource(dropletNoPasswordLogin, droplet({ userData: "#!/bin/sh\necho 'root:hunter2' | chpasswd\n" }));
        assert.deepStrictEqual(violations, ['Droplet "ws-droplet" user data enables password login (chpasswd): remove it; sign-in is by SSH key only.']);
    });
    it("passes a droplet without user data", async () => {
        assert.deepStrictEqual(await checkResource(dropletNoPasswordLogin, droplet({ userData: undefined })), { violations: [] });
    });
});

describe("droplet-size-minimum", () => {
    it("passes 2 GB, the desktop's minimum", async () => {
        assert.deepStrictEqual(await checkResource(dropletSizeMinimum, droplet({ size: "s-1vcpu-2gb" })), { violations: [] });
    });
    it("rejects 1 GB with the size and the minimum in the message", async () => {
        const { violations } = await checkResource(dropletSizeMinimum, droplet({ size: "s-1vcpu-1gb" }));
        assert.deepStrictEqual(violations, ['Droplet "ws-droplet" size "s-1vcpu-1gb" has 1024 MB of memory, under the desktop\'s minimum of 2048 MB.']);
    });
    it("says clearly when a size is not in the table", async () => {
        const { violations } = await checkResource(dropletSizeMinimum, droplet({ size: "s-3vcpu-5gb" }));
        assert.deepStrictEqual(violations, [
            'Droplet "ws-droplet" size "s-3vcpu-5gb" is not in data/do-sizes.json, so its memory cannot be checked against ' +
                "the minimum of 2048 MB: use a listed size or add it to the table.",
        ]);
    });
    it("takes the minimum from the policy config", async () => {
        const config = { "droplet-size-minimum": { minimumMemoryMb: 4096 } };
        const { violations } = await checkResource(dropletSizeMinimum, droplet({ size: "s-2vcpu-2gb" }), config);
        assert.deepStrictEqual(violations, ['Droplet "ws-droplet" size "s-2vcpu-2gb" has 2048 MB of memory, under the desktop\'s minimum of 4096 MB.']);
    });
});

describe("droplet-size-recommended", () => {
    it("passes 4 GB / 2 vCPU", async () => {
        assert.deepStrictEqual(await checkResource(dropletSizeRecommended, droplet()), { violations: [] });
    });
    it("flags 1 vCPU and flags 2 GB", async () => {
        const oneCpu = await checkResource(dropletSizeRecommended, droplet({ size: "s-1vcpu-2gb" }));
        assert.deepStrictEqual(oneCpu.violations, [
            'Droplet "ws-droplet" size "s-1vcpu-2gb" (1 vCPU, 2048 MB) is under the recommended 2 vCPU / 4096 MB: provisioning and the IDEs will be slow.',
        ]);
        const twoGb = await checkResource(dropletSizeRecommended, droplet({ size: "s-2vcpu-2gb" }));
        assert.deepStrictEqual(twoGb.violations, [
            'Droplet "ws-droplet" size "s-2vcpu-2gb" (2 vCPU, 2048 MB) is under the recommended 2 vCPU / 4096 MB: provisioning and the IDEs will be slow.',
        ]);
    });
    it("leaves a size missing from the table to droplet-size-minimum", async () => {
        assert.deepStrictEqual(await checkResource(dropletSizeRecommended, droplet({ size: "s-3vcpu-5gb" })), { violations: [] });
    });
    it("takes the recommendation from the policy config", async () => {
        const config = { "droplet-size-recommended": { recommendedMemoryMb: 8192, recommendedVcpus: 4 } };
        const { violations } = await checkResource(dropletSizeRecommended, droplet(), config);
        assert.deepStrictEqual(violations, [
            'Droplet "ws-droplet" size "s-2vcpu-4gb" (2 vCPU, 4096 MB) is under the recommended 4 vCPU / 8192 MB: provisioning and the IDEs will be slow.',
        ]);
    });
});

describe("droplet-region-allowed", () => {
    it("allows every SDK region by default and rejects a made-up one", async () => {
        assert.deepStrictEqual(await checkResource(dropletRegionAllowed, droplet({ region: "fra1" })), { violations: [] });
        const { violations } = await checkResource(dropletRegionAllowed, droplet({ region: "fra9" }));
        assert.strictEqual(violations.length, 1);
        assert.match(violations[0], /^Droplet "ws-droplet" region "fra9" is not allowed: choose one of nyc1, .*fra1.*\.$/);
    });
    it("uses the allowed list from the policy config", async () => {
        const config = { "droplet-region-allowed": { allowedRegions: ["fra1", "ams3"] } };
        assert.deepStrictEqual(await checkResource(dropletRegionAllowed, droplet({ region: "ams3" }), config), { violations: [] });
        const { violations } = await checkResource(dropletRegionAllowed, droplet({ region: "nyc3" }), config);
        assert.deepStrictEqual(violations, ['Droplet "ws-droplet" region "nyc3" is not allowed: choose one of fra1, ams3.']);
    });
    it("rejects a droplet without a region", async () => {
        const config = { "droplet-region-allowed": { allowedRegions: ["fra1"] } };
        const { violations } = await checkResource(dropletRegionAllowed, droplet({ region: undefined }), config);
        assert.deepStrictEqual(violations, ['Droplet "ws-droplet" has no region: choose one of fra1.']);
    });
});

describe("droplet-required-tags", () => {
    it("accepts key:value and bare key tags", async () => {
        assert.deepStrictEqual(await checkResource(dropletRequiredTags, droplet()), { violations: [] });
        assert.deepStrictEqual(await checkResource(dropletRequiredTags, droplet({ tags: ["environment", "owner"] })), { violations: [] });
    });
    it("names the missing tags; a tag that only starts with the key does not count", async () => {
        const { violations } = await checkResource(dropletRequiredTags, droplet({ tags: ["environment:dev", "ownership:x"] }));
        assert.deepStrictEqual(violations, ['Droplet "ws-droplet" is missing required tags: owner (as "key" or "key:value", e.g. "owner:<value>").']);
    });
    it("takes the required list from the policy config", async () => {
        const config = { "droplet-required-tags": { requiredTags: ["team", "owner"] } };
        const { violations } = await checkResource(dropletRequiredTags, droplet(), config);
        assert.deepStrictEqual(violations, ['Droplet "ws-droplet" is missing required tags: team (as "key" or "key:value", e.g. "team:<value>").']);
    });
});

describe("droplet-monitoring", () => {
    it("passes monitoring on and flags it off or unset", async () => {
        assert.deepStrictEqual(await checkResource(dropletMonitoring, droplet()), { violations: [] });
        const message = 'Droplet "ws-droplet" has monitoring off: set monitoring: true so that the alerts have metrics.';
        assert.deepStrictEqual((await checkResource(dropletMonitoring, droplet({ monitoring: false }))).violations, [message]);
        assert.deepStrictEqual((await checkResource(dropletMonitoring, droplet({ monitoring: undefined }))).violations, [message]);
    });
});

describe("droplet-backups-in-prod", () => {
    const message = 'Droplet "ws-droplet" has backups off in a prod stack: set backups: true (adds 20% to its price).';
    it("does not apply to a dev stack", async () => {
        const outcome = await checkResource(dropletBackupsInProd, droplet());
        assert.deepStrictEqual(outcome, { violations: [], notApplicable: "not a prod stack" });
    });
    it("flags backups off in the prod stack and passes them on", async () => {
        const prodTags = { tags: ["environment:prod", "owner:alice"] };
        assert.deepStrictEqual((await checkResource(dropletBackupsInProd, droplet(prodTags, { stack: "prod" }))).violations, [message]);
        assert.deepStrictEqual(await checkResource(dropletBackupsInProd, droplet({ ...prodTags, backups: true }, { stack: "prod" })), { violations: [] });
    });
    it("treats a prod-* stack, an environment:prod tag and a stack tag as prod", async () => {
        assert.deepStrictEqual((await checkResource(dropletBackupsInProd, droplet({}, { stack: "prod-eu" }))).violations, [message]);
        assert.deepStrictEqual((await checkResource(dropletBackupsInProd, droplet({ tags: ["environment:prod", "owner:a"] }))).violations, [message]);
        const stackTags = new Map([["environment", "prod"]]);
        assert.deepStrictEqual((await checkResource(dropletBackupsInProd, droplet(), undefined, stackTags)).violations, [message]);
    });
    it("does not take a stack merely named like prod for prod", async () => {
        assert.strictEqual((await checkResource(dropletBackupsInProd, droplet({}, { stack: "production-test" }))).notApplicable, "not a prod stack");
    });
});

describe("droplet-idle-stop-outside-prod", () => {
    const message =
        'Droplet "ws-droplet" runs outside prod with no idle stop (idleStopMinutes 0): it is billed around the clock ' +
        "($24.00 a month for s-2vcpu-4gb) until someone stops it. Set workstation:idleStopMinutes (e.g. 120) so that " +
        "npm run deploy -- stop-idle stops it when nobody works.";
    const tags = (idle: string) => ["environment:dev", "owner:alice", idle];

    it("flags a workstation outside prod whose idle stop is off", async () => {
        assert.deepStrictEqual(await checkResource(dropletIdleStopOutsideProd, droplet({ tags: tags("idle-stop:off") })), { violations: [message] });
    });
    it("passes one that stops after its idle minutes", async () => {
        assert.deepStrictEqual(await checkResource(dropletIdleStopOutsideProd, droplet({ tags: tags("idle-stop:120") })), { violations: [] });
    });
    it("does not apply in prod, by stack name or by tag", async () => {
        const byName = await checkResource(dropletIdleStopOutsideProd, droplet({ tags: tags("idle-stop:off") }, { stack: "prod" }));
        assert.deepStrictEqual(byName, { violations: [], notApplicable: "a prod stack" });
        const byTag = await checkResource(dropletIdleStopOutsideProd, droplet({ tags: ["environment:prod", "idle-stop:off"] }));
        assert.deepStrictEqual(byTag, { violations: [], notApplicable: "a prod stack" });
    });
    it("does not apply to a droplet without the tag (an image builder, or not this program's)", async () => {
        assert.deepStrictEqual(await checkResource(dropletIdleStopOutsideProd, droplet()), {
            violations: [],
            notApplicable: "no idle-stop tag: not a workstation",
        });
    });
});
