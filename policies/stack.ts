// Stack-level rules: the monthly cost budget and the provisioning graph's ordering.
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { SIZE_TABLE_NAME, dropletMonthlyCost, sizeOf, usd, withDefaults } from "./shared";
import { volumeMonthlyPrice } from "../components/homeVolume";

export interface CostBudgetConfig {
    monthlyBudgetUsd: number;
}
const COST_BUDGET_DEFAULTS: CostBudgetConfig = { monthlyBudgetUsd: 100 };

/** One droplet's line in the estimate. */
export interface CostLine {
    name: string;
    size: string;
    base: number;
    backups: number;
}

/**
 * The estimate for a set of droplets, from the size table, and volumes, billed per GiB
 * whether attached or not (a stopped stack costs its volumes); unknown slugs are listed apart.
 */
export function estimateMonthlyCost(
    droplets: ReadonlyArray<{ name: string; props: Record<string, unknown> }>,
    volumes: ReadonlyArray<{ name: string; props: Record<string, unknown> }> = [],
): {
    total: number;
    lines: CostLine[];
    unknown: Array<{ name: string; size: string }>;
} {
    const lines: CostLine[] = [];
    const unknown: Array<{ name: string; size: string }> = [];
    for (const d of droplets) {
        const slug = String(d.props.size);
        const size = sizeOf(slug);
        if (!size) {
            unknown.push({ name: d.name, size: slug });
            continue;
        }
        lines.push({ name: d.name, size: slug, ...dropletMonthlyCost(size, d.props.backups === true) });
    }
    for (const v of volumes) {
        const gib = Number(v.props.size);
        lines.push({ name: v.name, size: `volume ${gib} GiB`, base: volumeMonthlyPrice(gib), backups: 0 });
    }
    return { total: lines.reduce((sum, l) => sum + l.base + l.backups, 0), lines, unknown };
}

export const monthlyCostBudget: StackValidationPolicy = {
    name: "monthly-cost-budget",
    description:
        `The stack's estimated monthly cost (every droplet's price from ${SIZE_TABLE_NAME}, plus the backups ` +
        "surcharge, plus every volume per GiB) stays under the budget (monthlyBudgetUsd, 100 by default). " +
        "Powered-off droplets are still billed; a stopped workstation (running: false) costs its home volume.",
    enforcementLevel: "advisory",
    severity: "low",
    configSchema: {
        properties: {
            monthlyBudgetUsd: { type: "number", minimum: 0, default: COST_BUDGET_DEFAULTS.monthlyBudgetUsd },
        },
    },
    validateStack: (args, reportViolation) => {
        const { monthlyBudgetUsd } = withDefaults(args.getConfig<Partial<CostBudgetConfig>>(), COST_BUDGET_DEFAULTS);
        const droplets = args.resources.filter((r) => r.isType(digitalocean.Droplet));
        const volumes = args.resources.filter((r) => r.isType(digitalocean.Volume));
        if (droplets.length === 0 && volumes.length === 0) args.notApplicable("no droplets and no volumes");
        const estimate = estimateMonthlyCost(droplets, volumes);
        for (const u of estimate.unknown) {
            reportViolation(
                `Droplet "${u.name}" size "${u.size}" is not in ${SIZE_TABLE_NAME}: its cost is left out of the estimate.`,
                droplets.find((d) => d.name === u.name)?.urn,
            );
        }
        if (estimate.total > monthlyBudgetUsd) {
            const parts = estimate.lines.map((l) => `${l.name} ${l.size} ${usd(l.base)}${l.backups > 0 ? ` + backups ${usd(l.backups)}` : ""}`);
            reportViolation(`Estimated monthly cost ${usd(estimate.total)} (${parts.join("; ")}) is over the budget of ${usd(monthlyBudgetUsd)}.`);
        }
    },
};

/** Every resource that `r` depends on, directly or through others (dependencies and property dependencies). */
export function transitiveDependencies(r: PolicyResource, all: readonly PolicyResource[]): Set<string> {
    const seen = new Set<string>();
    const queue: PolicyResource[] = [r];
    while (queue.length > 0) {
        const current = queue.shift() as PolicyResource;
        const direct = [...current.dependencies, ...Object.values(current.propertyDependencies ?? {}).flat()];
        for (const dep of direct) {
            if (seen.has(dep.urn)) continue;
            seen.add(dep.urn);
            queue.push(dep);
            // Depending on a component means depending on everything under it.
            for (const child of all) {
                if (child.parent?.urn === dep.urn && !seen.has(child.urn)) {
                    seen.add(child.urn);
                    queue.push(child);
                }
            }
        }
    }
    return seen;
}

export const remoteCommandsAfterDroplet: StackValidationPolicy = {
    name: "remote-commands-after-droplet",
    description:
        "Every remote command depends on a droplet, directly or through other stages: otherwise the engine may run " +
        "it before the host exists, or against the address of a droplet that is being replaced.",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: { properties: {} },
    validateStack: (args, reportViolation) => {
        const commands = args.resources.filter((r) => r.isType(command.remote.Command));
        if (commands.length === 0) args.notApplicable("no remote commands");
        const droplets = new Set(args.resources.filter((r) => r.isType(digitalocean.Droplet)).map((r) => r.urn));
        for (const cmd of commands) {
            const deps = transitiveDependencies(cmd, args.resources);
            if (![...deps].some((urn) => droplets.has(urn))) {
                reportViolation(
                    `Command "${cmd.name}" does not depend on any droplet, directly or through other resources: ` +
                        "add the droplet (or an earlier stage) to its dependsOn.",
                    cmd.urn,
                );
            }
        }
    },
};

export interface VerifyAfterConfig {
    /** Stages that verify checks, as name suffixes; a trailing `*` matches any rest (`ide-*`). */
    verifyAfter: string[];
}
const VERIFY_AFTER_DEFAULTS: VerifyAfterConfig = { verifyAfter: ["desktop", "ide-*", "monitor"] };

function stageMatches(stage: string, pattern: string): boolean {
    return pattern.endsWith("*") ? stage.startsWith(pattern.slice(0, -1)) : stage === pattern;
}

export const verifyAfterInstallStages: StackValidationPolicy = {
    name: "verify-after-install-stages",
    description:
        "Each workstation's verify stage (`<workstation>-verify`) depends on every install stage of that workstation " +
        "that exists (desktop, ide-*, monitor by default): otherwise it checks a half-installed host.",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: {
        properties: {
            verifyAfter: { type: "array", items: { type: "string" }, default: VERIFY_AFTER_DEFAULTS.verifyAfter },
        },
    },
    validateStack: (args, reportViolation) => {
        const { verifyAfter } = withDefaults(args.getConfig<Partial<VerifyAfterConfig>>(), VERIFY_AFTER_DEFAULTS);
        const commands = args.resources.filter((r) => r.isType(command.remote.Command));
        const verifies = commands.filter((r) => r.name.endsWith("-verify"));
        if (verifies.length === 0) args.notApplicable("no verify stage");
        for (const verify of verifies) {
            const prefix = verify.name.slice(0, -"verify".length);
            const deps = transitiveDependencies(verify, args.resources);
            const stages = commands.filter((c) => {
                if (c === verify || !c.name.startsWith(prefix)) return false;
                const stage = c.name.slice(prefix.length);
                return verifyAfter.some((p) => stageMatches(stage, p));
            });
            const missing = stages.filter((s) => !deps.has(s.urn)).map((s) => s.name);
            if (missing.length > 0) {
                reportViolation(
                    `Command "${verify.name}" does not depend on ${missing.map((m) => `"${m}"`).join(", ")}: ` + "verify must run after every install stage.",
                    verify.urn,
                );
            }
        }
    },
};

export const stackPolicies: StackValidationPolicy[] = [monthlyCostBudget, remoteCommandsAfterDroplet, verifyAfterInstallStages];
