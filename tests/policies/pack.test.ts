import * as assert from "assert";
import { evaluatePolicies, levelOf, validatePolicyConfig } from "../../policies/evaluate";
import { policies } from "../../policies/policies";
import { droplet, firewall } from "./helpers";

const NAMES_AND_LEVELS: Record<string, string> = {
    "droplet-ssh-key-required": "mandatory",
    "droplet-no-password-login": "mandatory",
    "droplet-size-minimum": "mandatory",
    "droplet-size-recommended": "advisory",
    "droplet-region-allowed": "mandatory",
    "droplet-required-tags": "advisory",
    "droplet-monitoring": "advisory",
    "droplet-backups-in-prod": "advisory",
    "droplet-idle-stop-outside-prod": "advisory",
    "firewall-no-remote-desktop-ports": "mandatory",
    "firewall-ssh-not-world-open": "advisory",
    "firewall-ssh-not-world-open-prod": "mandatory",
    "remote-command-secrets-not-logged": "mandatory",
    "image-not-stale": "advisory",
    "monthly-cost-budget": "advisory",
    "remote-commands-after-droplet": "mandatory",
    "verify-after-install-stages": "mandatory",
};

describe("the policy pack", () => {
    it("keeps its policy names and default levels (stack configs refer to them by name)", () => {
        assert.deepStrictEqual(Object.fromEntries(policies.map((p) => [p.name, p.enforcementLevel])), NAMES_AND_LEVELS);
    });
    it("gives every policy a description and a config schema whose defaults pass its own validation", () => {
        for (const p of policies) {
            assert.ok(p.description.length > 40, `${p.name} needs a description that says why`);
            assert.ok(p.configSchema, `${p.name} has no configSchema`);
            const defaults = Object.fromEntries(Object.entries(p.configSchema.properties).map(([k, s]) => [k, s.default]));
            assert.deepStrictEqual(validatePolicyConfig(policies, { [p.name]: defaults }), [], p.name);
        }
    });
});

describe("policy config", () => {
    const bad = [droplet({ monitoring: false, size: "s-1vcpu-1gb" })];

    it("reports at each policy's default level", async () => {
        const verdicts = await evaluatePolicies(policies, bad);
        const findings = verdicts.flatMap((v) => v.findings).map((f) => [f.policy, f.level]);
        assert.deepStrictEqual(findings, [
            ["droplet-size-minimum", "mandatory"],
            ["droplet-size-recommended", "advisory"],
            ["droplet-monitoring", "advisory"],
        ]);
    });
    it("lets a stack raise, lower or disable a policy's level", async () => {
        const config = {
            "droplet-monitoring": "mandatory" as const,
            "droplet-size-minimum": { enforcementLevel: "advisory" as const },
            "droplet-size-recommended": { enforcementLevel: "disabled" as const },
        };
        const verdicts = await evaluatePolicies(policies, bad, { config });
        const findings = verdicts.flatMap((v) => v.findings).map((f) => [f.policy, f.level]);
        assert.deepStrictEqual(findings, [
            ["droplet-size-minimum", "advisory"],
            ["droplet-monitoring", "mandatory"],
        ]);
        assert.ok(!verdicts.some((v) => v.policy === "droplet-size-recommended"));
    });
    it("reports remediate as mandatory, like the analyzer server", () => {
        assert.strictEqual(levelOf({ name: "x", enforcementLevel: "advisory" }, { x: "remediate" }), "remediate");
        return evaluatePolicies(policies, bad, { config: { "droplet-monitoring": "remediate" } }).then((verdicts) => {
            assert.strictEqual(verdicts.find((v) => v.policy === "droplet-monitoring")?.findings[0].level, "mandatory");
        });
    });
    it("counts what each policy applied to", async () => {
        const verdicts = await evaluatePolicies(policies, [droplet(), firewall([])]);
        const applied = Object.fromEntries(verdicts.map((v) => [v.policy, v.applied]));
        assert.strictEqual(applied["droplet-monitoring"], 1);
        assert.strictEqual(applied["firewall-ssh-not-world-open"], 1);
        assert.strictEqual(applied["droplet-backups-in-prod"], 0);
        assert.strictEqual(applied["remote-commands-after-droplet"], 0);
    });
    it("rejects unknown policies and settings, bad levels and values of the wrong type", () => {
        const errors = validatePolicyConfig(policies, {
            "droplet-monitor": "advisory",
            "droplet-monitoring": "warn",
            "monthly-cost-budget": { monthlyBudgetUsd: "50", budget: 3 },
            "droplet-region-allowed": { allowedRegions: [] },
            "droplet-required-tags": { requiredTags: ["owner", 7] },
        });
        assert.deepStrictEqual(errors, [
            `unknown policy "droplet-monitor" (known: ${Object.keys(NAMES_AND_LEVELS).join(", ")})`,
            'droplet-monitoring.enforcementLevel must be one of advisory, mandatory, remediate, disabled, got "warn"',
            'monthly-cost-budget.monthlyBudgetUsd must be number, got "50"',
            "monthly-cost-budget.budget is not a setting of this policy (settings: enforcementLevel, monthlyBudgetUsd)",
            "droplet-region-allowed.allowedRegions must have at least 1 item(s)",
            "droplet-required-tags.requiredTags[1] must be string, got 7",
        ]);
        assert.deepStrictEqual(validatePolicyConfig(policies, []), ["policy config must be an object keyed by policy name"]);
    });
});
