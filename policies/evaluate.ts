// Runs the pack's rules outside the Pulumi CLI, the way @pulumi/policy's analyzer server
// does: same argument shapes (ResourceValidationArgs, StackValidationArgs), same
// enforcement-level resolution (stack policy config, then the policy's own level, then the
// pack's default of advisory; "remediate" reports as mandatory; "disabled" skips), same
// handling of notApplicable. Used by the offline plan and by the tests.
import {
    EnforcementLevel,
    Policies,
    PolicyPackConfig,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
    unknownCheckingProxy,
} from "@pulumi/policy";
import { PolicyConfigJSONSchema } from "@pulumi/policy/schema";

/** A resource as the plan (or a test) describes it: its inputs, parent and dependencies by URN. */
export interface PlannedResource {
    type: string;
    name: string;
    urn: string;
    props: Record<string, unknown>;
    /** The parent's URN. */
    parent?: string;
    /** URNs this resource depends on (dependsOn and every input's resources), as the engine records them. */
    dependencies?: string[];
    /** Input name → URNs that input depends on. */
    propertyDependencies?: Record<string, string[]>;
    additionalSecretOutputs?: string[];
}

/** One reported violation. */
export interface Finding {
    policy: string;
    level: EnforcementLevel;
    message: string;
    /** The resource it is about; undefined for the stack as a whole. */
    urn?: string;
}

/** What one policy said about the planned stack. */
export interface PolicyVerdict {
    policy: string;
    kind: "resource" | "stack";
    level: EnforcementLevel;
    /** How many resources (or 1 for a stack rule) the policy applied to. */
    applied: number;
    findings: Finding[];
}

/** The pack's default level, as in @pulumi/policy's PolicyPack. */
const PACK_DEFAULT_LEVEL: EnforcementLevel = "advisory";

const LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

/** Thrown by `args.notApplicable(reason)`, as the analyzer server's own error is. */
export class NotApplicable extends Error {
    constructor(readonly reason: string) {
        super(reason);
    }
}

function throwNotApplicable(reason?: string): never {
    throw new NotApplicable(reason ?? "not applicable");
}

/** A policy's entry in the stack's policy config, as an object. */
function entryOf(config: PolicyPackConfig | undefined, policy: string): Record<string, unknown> {
    const entry = config?.[policy];
    if (entry === undefined) return {};
    return typeof entry === "string" ? { enforcementLevel: entry } : { ...entry };
}

/** The level a policy reports at under a policy config. */
export function levelOf(policy: { name: string; enforcementLevel?: EnforcementLevel }, config?: PolicyPackConfig): EnforcementLevel {
    const set = entryOf(config, policy.name).enforcementLevel as EnforcementLevel | undefined;
    return set ?? policy.enforcementLevel ?? PACK_DEFAULT_LEVEL;
}

function configGetter(config: PolicyPackConfig | undefined, policy: string): <T extends object>() => T {
    return <T extends object>() => {
        const rest = entryOf(config, policy);
        delete rest.enforcementLevel;
        return rest as T;
    };
}

function isTypeOf(type: string, resourceClass: unknown): boolean {
    return (resourceClass as { __pulumiType?: string } | undefined)?.__pulumiType === type;
}

function optionsOf(r: PlannedResource): PolicyResourceOptions {
    return {
        protect: false,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: r.additionalSecretOutputs ?? [],
        ...(r.parent ? { parent: r.parent } : {}),
    };
}

/** ResourceValidationArgs for one resource, as the analyzer server builds them. */
export function resourceValidationArgs(
    r: PlannedResource,
    policy: string,
    config?: PolicyPackConfig,
    stackTags: ReadonlyMap<string, string> = new Map(),
): ResourceValidationArgs {
    const props = unknownCheckingProxy(r.props) as Record<string, unknown>;
    return {
        type: r.type,
        props,
        urn: r.urn,
        name: r.name,
        opts: optionsOf(r),
        stackTags,
        isType: (cls) => isTypeOf(r.type, cls),
        asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as ResourceValidationArgs["asType"],
        getConfig: configGetter(config, policy),
        notApplicable: throwNotApplicable,
    };
}

/** StackValidationArgs for a set of resources, with parents and dependencies linked as objects. */
export function stackValidationArgs(
    resources: readonly PlannedResource[],
    policy: string,
    config?: PolicyPackConfig,
    stackTags: ReadonlyMap<string, string> = new Map(),
): StackValidationArgs {
    const byUrn = new Map<string, PolicyResource>();
    const built = resources.map((r) => {
        const props = unknownCheckingProxy(r.props) as Record<string, unknown>;
        const pr: PolicyResource = {
            type: r.type,
            props,
            urn: r.urn,
            name: r.name,
            opts: optionsOf(r),
            dependencies: [],
            propertyDependencies: {},
            isType: (cls) => isTypeOf(r.type, cls),
            asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
        };
        byUrn.set(r.urn, pr);
        return pr;
    });
    const lookup = (urns: readonly string[] | undefined): PolicyResource[] =>
        (urns ?? []).map((u) => byUrn.get(u)).filter((x): x is PolicyResource => x !== undefined);
    resources.forEach((r, i) => {
        const pr = built[i];
        if (r.parent && byUrn.has(r.parent)) pr.parent = byUrn.get(r.parent);
        pr.dependencies = lookup(r.dependencies);
        for (const [k, urns] of Object.entries(r.propertyDependencies ?? {})) pr.propertyDependencies[k] = lookup(urns);
    });
    return { resources: built, stackTags, getConfig: configGetter(config, policy), notApplicable: throwNotApplicable };
}

function isStackPolicy(p: ResourceValidationPolicy | StackValidationPolicy): p is StackValidationPolicy {
    return typeof (p as StackValidationPolicy).validateStack === "function";
}

/** Runs every policy over the resources; disabled policies are left out of the result. */
export async function evaluatePolicies(
    policies: Policies,
    resources: readonly PlannedResource[],
    options: { config?: PolicyPackConfig; stackTags?: ReadonlyMap<string, string> } = {},
): Promise<PolicyVerdict[]> {
    const verdicts: PolicyVerdict[] = [];
    for (const p of policies) {
        let level = levelOf(p, options.config);
        if (level === "disabled") continue;
        if (level === "remediate") level = "mandatory";
        const findings: Finding[] = [];
        let applied = 0;
        if (isStackPolicy(p)) {
            const report = (message: string, urn?: string) => findings.push({ policy: p.name, level, message, urn });
            try {
                await p.validateStack(stackValidationArgs(resources, p.name, options.config, options.stackTags), report);
                applied = 1;
            } catch (e) {
                if (!(e instanceof NotApplicable)) throw e;
            }
            verdicts.push({ policy: p.name, kind: "stack", level, applied, findings });
            continue;
        }
        const validations = p.validateResource === undefined ? [] : Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource];
        for (const r of resources) {
            const report = (message: string) => findings.push({ policy: p.name, level, message, urn: r.urn });
            let ran = false;
            for (const validate of validations) {
                try {
                    await validate(resourceValidationArgs(r, p.name, options.config, options.stackTags), report);
                    ran = true;
                } catch (e) {
                    if (!(e instanceof NotApplicable)) throw e;
                }
            }
            if (ran) applied++;
        }
        verdicts.push({ policy: p.name, kind: "resource", level, applied, findings });
    }
    return verdicts;
}

function typeMatches(value: unknown, type: string): boolean {
    switch (type) {
        case "string":
            return typeof value === "string";
        case "number":
            return typeof value === "number" && Number.isFinite(value);
        case "integer":
            return Number.isInteger(value);
        case "boolean":
            return typeof value === "boolean";
        case "array":
            return Array.isArray(value);
        case "object":
            return typeof value === "object" && value !== null && !Array.isArray(value);
        case "null":
            return value === null;
        default:
            return true;
    }
}

/** Checks a value against the subset of JSON schema that the pack's config schemas use. */
function checkSchema(value: unknown, schema: PolicyConfigJSONSchema, where: string, errors: string[]): void {
    const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
    if (types.length > 0 && !types.some((t) => typeMatches(value, t))) {
        errors.push(`${where} must be ${types.join(" or ")}, got ${JSON.stringify(value)}`);
        return;
    }
    if (typeof value === "number" && schema.minimum !== undefined && value < schema.minimum) {
        errors.push(`${where} must be at least ${schema.minimum}, got ${value}`);
    }
    if (typeof value === "string" && schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
        errors.push(`${where} must match ${schema.pattern}, got ${JSON.stringify(value)}`);
    }
    if (Array.isArray(value)) {
        if (schema.minItems !== undefined && value.length < schema.minItems) {
            errors.push(`${where} must have at least ${schema.minItems} item(s)`);
        }
        if (schema.items !== undefined && !Array.isArray(schema.items) && typeof schema.items === "object") {
            const items = schema.items;
            value.forEach((v, i) => checkSchema(v, items, `${where}[${i}]`, errors));
        }
    }
}

/**
 * Problems with a stack's policy config (the file given to `--policy-pack-config`): unknown
 * policies or properties, bad enforcement levels, values of the wrong type. [] when fine.
 */
export function validatePolicyConfig(policies: Policies, config: unknown): string[] {
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
        return ["policy config must be an object keyed by policy name"];
    }
    const errors: string[] = [];
    const byName = new Map(policies.map((p) => [p.name, p]));
    for (const [name, raw] of Object.entries(config as Record<string, unknown>)) {
        const p = byName.get(name);
        if (!p) {
            errors.push(`unknown policy "${name}" (known: ${[...byName.keys()].join(", ")})`);
            continue;
        }
        const entry = typeof raw === "string" ? { enforcementLevel: raw } : raw;
        if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
            errors.push(`${name} must be an enforcement level or an object`);
            continue;
        }
        for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
            if (key === "enforcementLevel") {
                if (!LEVELS.includes(value as EnforcementLevel)) {
                    errors.push(`${name}.enforcementLevel must be one of ${LEVELS.join(", ")}, got ${JSON.stringify(value)}`);
                }
                continue;
            }
            const schema = p.configSchema?.properties[key];
            if (!schema) {
                const known = Object.keys(p.configSchema?.properties ?? {});
                errors.push(`${name}.${key} is not a setting of this policy (settings: ${["enforcementLevel", ...known].join(", ")})`);
                continue;
            }
            checkSchema(value, schema, `${name}.${key}`, errors);
        }
    }
    return errors;
}
