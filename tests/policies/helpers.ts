// Builds the arguments the policy framework passes to a rule and collects what it reports.
import { PolicyPackConfig, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { NotApplicable, PlannedResource, resourceValidationArgs, stackValidationArgs } from "../../policies/evaluate";

export const DROPLET = "digitalocean:index/droplet:Droplet";
export const FIREWALL = "digitalocean:index/firewall:Firewall";
export const COMMAND = "command:remote:Command";

export function urn(type: string, name: string, stack = "dev"): string {
    return `urn:pulumi:${stack}::workstation::${type}::${name}`;
}

/** A resource in stack `stack` (dev unless given). */
export function resource(
    type: string,
    name: string,
    props: Record<string, unknown>,
    extra: Partial<PlannedResource> & { stack?: string } = {},
): PlannedResource {
    const { stack, ...rest } = extra;
    return { type, name, urn: urn(type, name, stack), props, ...rest };
}

/** What a rule said: the messages it reported, or why it does not apply. */
export interface Outcome {
    violations: string[];
    notApplicable?: string;
}

export async function checkResource(
    policy: ResourceValidationPolicy,
    r: PlannedResource,
    config?: PolicyPackConfig,
    stackTags?: ReadonlyMap<string, string>,
): Promise<Outcome> {
    const violations: string[] = [];
    const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
    try {
        for (const validate of validations) {
            await validate?.(resourceValidationArgs(r, policy.name, config, stackTags), (m) => violations.push(m));
        }
    } catch (e) {
        if (e instanceof NotApplicable) return { violations, notApplicable: e.reason };
        throw e;
    }
    return { violations };
}

export async function checkStack(
    policy: StackValidationPolicy,
    resources: PlannedResource[],
    config?: PolicyPackConfig,
): Promise<Outcome & { urns: Array<string | undefined> }> {
    const violations: string[] = [];
    const urns: Array<string | undefined> = [];
    try {
        await policy.validateStack(stackValidationArgs(resources, policy.name, config), (m, u) => {
            violations.push(m);
            urns.push(u);
        });
    } catch (e) {
        if (e instanceof NotApplicable) return { violations, urns, notApplicable: e.reason };
        throw e;
    }
    return { violations, urns };
}

/** The droplet the dev stack plans: every rule passes on it. */
export function droplet(props: Record<string, unknown> = {}, extra: Partial<PlannedResource> & { stack?: string } = {}): PlannedResource {
    return resource(
        DROPLET,
        "ws-droplet",
        {
            size: "s-2vcpu-4gb",
            image: "debian-13-x64",
            region: "fra1",
            sshKeys: ["41234567"],
            userData: "#cloud-config\npackage_update: true\nssh_pwauth: false\n",
            monitoring: true,
            backups: false,
            tags: ["environment:dev", "owner:alice"],
            ...props,
        },
        extra,
    );
}

export function firewall(inboundRules: unknown[], extra: Partial<PlannedResource> & { stack?: string } = {}, tags?: string[]): PlannedResource {
    return resource(FIREWALL, "ws-firewall", { inboundRules, ...(tags ? { tags } : {}) }, extra);
}

export function command(name: string, props: Record<string, unknown> = {}, extra: Partial<PlannedResource> = {}): PlannedResource {
    return resource(COMMAND, name, { connection: { host: "203.0.113.10", user: "dev" }, create: "bash -s", ...props }, extra);
}
