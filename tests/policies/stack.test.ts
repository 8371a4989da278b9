import * as assert from "assert";
import { PlannedResource } from "../../policies/evaluate";
import { monthlyCostBudget, remoteCommandsAfterDroplet, verifyAfterInstallStages } from "../../policies/stack";
import { checkStack, command, droplet, resource, urn, COMMAND, DROPLET } from "./helpers";

const PARALLEL = ["desktop", "ide-vscode", "ide-cursor", "ide-antigravity", "monitor"];

/** The planned graph: the droplet, then wait-ready (through its connection) → system-prep → parallel → verify → harden → report. */
function graph(overrides: Record<string, string[]> = {}): PlannedResource[] {
    const d = droplet();
    const dep = (stage: string) => urn(COMMAND, `ws-${stage}`);
    const stages: Record<string, string[]> = {
        "system-prep": ["wait-ready"],
        ...Object.fromEntries(PARALLEL.map((s) => [s, ["system-prep"]])),
        verify: PARALLEL,
        harden: ["verify"],
        report: ["harden"],
        ...overrides,
    };
    const waitReady = command("ws-wait-ready", {}, { dependencies: [d.urn], propertyDependencies: { connection: [d.urn] } });
    return [d, waitReady, ...Object.entries(stages).map(([stage, deps]) => command(`ws-${stage}`, {}, { dependencies: deps.map(dep) }))];
}

describe("monthly-cost-budget", () => {
    it("passes one s-2vcpu-4gb ($24) under the default $100", async () => {
        assert.deepStrictEqual(await checkStack(monthlyCostBudget, [droplet()]), { violations: [], urns: [] });
    });
    it("sums droplets and the backups surcharge against the configured budget", async () => {
        const second = resource(DROPLET, "ws2-droplet", { size: "s-4vcpu-8gb", backups: true });
        const config = { "monthly-cost-budget": { monthlyBudgetUsd: 60 } };
        const { violations, urns } = await checkStack(monthlyCostBudget, [droplet(), second], config);
        assert.deepStrictEqual(violations, [
            "Estimated monthly cost $81.60 (ws-droplet s-2vcpu-4gb $24.00; ws2-droplet s-4vcpu-8gb $48.00 + backups $9.60) is over the budget of $60.00.",
        ]);
        assert.deepStrictEqual(urns, [undefined]);
    });
    it("reports a size it cannot price against that droplet", async () => {
        const d = droplet({ size: "s-3vcpu-5gb" });
        const { violations, urns } = await checkStack(monthlyCostBudget, [d]);
        assert.deepStrictEqual(violations, ['Droplet "ws-droplet" size "s-3vcpu-5gb" is not in data/do-sizes.json: its cost is left out of the estimate.']);
        assert.deepStrictEqual(urns, [d.urn]);
    });
    it("does not apply to a stack without droplets or volumes", async () => {
        assert.strictEqual((await checkStack(monthlyCostBudget, [command("ws-x")])).notApplicable, "no droplets and no volumes");
    });
    it("counts a volume per GiB beside the droplet, and a stopped stack at its volume alone", async () => {
        const volume = resource("digitalocean:index/volume:Volume", "ws-home", { size: 200, region: "nyc3", name: "workstation-dev-home" });
        const config = { "monthly-cost-budget": { monthlyBudgetUsd: 15 } };
        assert.deepStrictEqual((await checkStack(monthlyCostBudget, [droplet(), volume], config)).violations, [
            "Estimated monthly cost $44.00 (ws-droplet s-2vcpu-4gb $24.00; ws-home volume 200 GiB $20.00) is over the budget of $15.00.",
        ]);
        assert.deepStrictEqual((await checkStack(monthlyCostBudget, [volume], config)).violations, [
            "Estimated monthly cost $20.00 (ws-home volume 200 GiB $20.00) is over the budget of $15.00.",
        ]);
        assert.deepStrictEqual((await checkStack(monthlyCostBudget, [volume])).violations, []);
    });
});

describe("remote-commands-after-droplet", () => {
    it("passes the planned graph, where only wait-ready touches the droplet", async () => {
        assert.deepStrictEqual(await checkStack(remoteCommandsAfterDroplet, graph()), { violations: [], urns: [] });
    });
    it("flags a command with no path to the droplet", async () => {
        const stray = command("ws-stray", {}, { dependencies: [] });
        const { violations, urns } = await checkStack(remoteCommandsAfterDroplet, [...graph(), stray]);
        assert.deepStrictEqual(violations, [
            'Command "ws-stray" does not depend on any droplet, directly or through other resources: add the droplet (or an earlier stage) to its dependsOn.',
        ]);
        assert.deepStrictEqual(urns, [stray.urn]);
    });
    it("counts a dependency on a component as one on its children", async () => {
        const component = resource("workstation:index:Host", "ws-host", {});
        const d = droplet({}, { parent: component.urn });
        const cmd = command("ws-wait-ready", {}, { dependencies: [component.urn] });
        assert.deepStrictEqual((await checkStack(remoteCommandsAfterDroplet, [component, d, cmd])).violations, []);
    });
});

describe("verify-after-install-stages", () => {
    it("passes verify after every install stage", async () => {
        assert.deepStrictEqual(await checkStack(verifyAfterInstallStages, graph()), { violations: [], urns: [] });
    });
    it("names the IDE stages verify does not wait for", async () => {
        const { violations, urns } = await checkStack(verifyAfterInstallStages, graph({ verify: ["desktop", "ide-vscode", "monitor"] }));
        assert.deepStrictEqual(violations, [
            'Command "ws-verify" does not depend on "ws-ide-cursor", "ws-ide-antigravity": verify must run after every install stage.',
        ]);
        assert.deepStrictEqual(urns, [urn(COMMAND, "ws-verify")]);
    });
    it("accepts waiting through another stage", async () => {
        const resources = graph({ verify: ["barrier"], barrier: PARALLEL });
        assert.deepStrictEqual((await checkStack(verifyAfterInstallStages, resources)).violations, []);
    });
    it("checks only the stages that exist, and the stages listed in the policy config", async () => {
        const noIdes = graph().filter((r) => !r.name.includes("-ide-"));
        assert.deepStrictEqual((await checkStack(verifyAfterInstallStages, noIdes)).violations, []);
        const config = { "verify-after-install-stages": { verifyAfter: ["harden"] } };
        const { violations } = await checkStack(verifyAfterInstallStages, graph(), config);
        assert.deepStrictEqual(violations, ['Command "ws-verify" does not depend on "ws-harden": verify must run after every install stage.']);
    });
});
