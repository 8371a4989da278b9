// Runs the Pulumi program under mocks, in preview mode, and records every resource the
// way the engine would see it: type, name, URN, parent, inputs (secrets unwrapped, as the
// policy framework hands them over), and dependencies. Mocks never see `dependsOn`, so a
// stack transformation records each resource's options and input Outputs, and the
// dependencies are worked out as the SDK does: explicit dependsOn plus every resource
// behind an input, with a component standing for the custom resources under it.
import * as pulumi from "@pulumi/pulumi";
import { PlannedResource } from "../../policies/evaluate";
import { sizeOf } from "../../policies/shared";
import { unwrapSecrets } from "../shared/secrets";

/** Placeholders for values the provider computes, so the program's applies run as in an update. */
export const PLACEHOLDER_IP = "203.0.113.10";
const PLACEHOLDER_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlanPlanPlanPlanPlanPlanPlanPlanPlanPlanPlan plan";

/** Policies see secret inputs as plain values, as the policy framework hands them over. */
export { unwrapSecrets };

function computedOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            return {
                publicKeyOpenssh: `${PLACEHOLDER_PUBLIC_KEY}\n`,
                privateKeyOpenssh: "plan-placeholder-private-key\n",
                privateKeyPem: "plan-placeholder-private-key\n",
            };
        case "random:index/randomPassword:RandomPassword":
            return { result: "plan-placeholder-password" };
        case "digitalocean:index/sshKey:SshKey":
            return { fingerprint: "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00" };
        case "digitalocean:index/droplet:Droplet":
            return { ipv4Address: PLACEHOLDER_IP, priceMonthly: sizeOf(inputs.size)?.priceMonthly ?? 0, dropletUrn: `do:droplet:${name}`, status: "active" };
        default:
            // Command stdout and the like stay unset: nothing runs during a plan, as in a preview.
            return {};
    }
}

interface Seen {
    resource: pulumi.Resource;
    type: string;
    name: string;
    props: pulumi.Inputs;
    opts: pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions;
}

/** The recorded program: its resources and the component objects it built, by type. */
export interface RecordedProgram {
    resources: PlannedResource[];
    /** The resource objects the program constructed, for reading a component's public fields. */
    objects: Array<{ type: string; name: string; resource: pulumi.Resource }>;
}

function resolve<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((res) => o.apply((v) => (res(v), v)));
}

/** Resources behind every Output (or resource reference) inside an input value. */
async function resourcesIn(value: unknown, depth = 0): Promise<pulumi.Resource[]> {
    if (depth > 20 || value === null || value === undefined) return [];
    if (pulumi.Output.isInstance(value)) {
        const o = value as unknown as { allResources?: () => Promise<Set<pulumi.Resource>>; resources: () => Set<pulumi.Resource> };
        return [...(o.allResources ? await o.allResources() : o.resources())];
    }
    if (pulumi.Resource.isInstance(value)) return [value];
    if (value instanceof Promise) return resourcesIn(await value, depth + 1);
    if (Array.isArray(value)) return (await Promise.all(value.map((v) => resourcesIn(v, depth + 1)))).flat();
    if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
        return (await Promise.all(Object.values(value as Record<string, unknown>).map((v) => resourcesIn(v, depth + 1)))).flat();
    }
    return [];
}

/**
 * Loads `programPath` under mocks for `project`/`stack` with `config` (namespace:key → string)
 * and returns what it would register. Throws what the program throws.
 */
export async function recordProgram(
    programPath: string,
    project: string,
    stack: string,
    config: Record<string, string>,
    secretKeys: string[],
): Promise<RecordedProgram> {
    const inputsByKey = new Map<string, Record<string, unknown>>();
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                inputsByKey.set(`${args.type}::${args.name}`, args.inputs);
                return { id: `${args.name}-id`, state: { ...args.inputs, ...computedOutputs(args.type, args.name, args.inputs) } };
            },
            call(args) {
                throw new Error(`plan: the program calls provider function ${args.token}, which the plan cannot answer offline`);
            },
        },
        project,
        stack,
        true,
    );
    pulumi.runtime.setAllConfig(config, secretKeys);

    const seen: Seen[] = [];
    await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((args) => {
            seen.push({
                resource: args.resource,
                type: args.type,
                name: args.name,
                props: args.props,
                opts: args.opts as Seen["opts"],
            });
            return undefined;
        });
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require(programPath);
    });
    // Let registrations that wait on other resources finish.
    let last = -1;
    for (let quiet = 0; quiet < 20;) {
        await new Promise((r) => setImmediate(r));
        if (inputsByKey.size === last) quiet++;
        else {
            quiet = 0;
            last = inputsByKey.size;
        }
    }

    const urnOf = new Map<pulumi.Resource, string>();
    for (const s of seen) urnOf.set(s.resource, await resolve(s.resource.urn));
    const childrenOf = new Map<pulumi.Resource, pulumi.Resource[]>();
    for (const s of seen) {
        if (s.opts.parent) childrenOf.set(s.opts.parent, [...(childrenOf.get(s.opts.parent) ?? []), s.resource]);
    }
    // Asked only now: a transformation runs inside the base constructor, before
    // CustomResource marks the object as custom.
    const isCustom = new Map(seen.map((s) => [s.resource, pulumi.CustomResource.isInstance(s.resource)]));
    /** A component stands for every custom resource under it, as in the SDK's dependsOn handling. */
    const expand = (r: pulumi.Resource): pulumi.Resource[] => (isCustom.get(r) === false ? (childrenOf.get(r) ?? []).flatMap(expand) : [r]);
    const urnsOf = (rs: pulumi.Resource[], self: pulumi.Resource): string[] => [
        ...new Set(
            rs
                .flatMap(expand)
                .filter((r) => r !== self && urnOf.has(r))
                .map((r) => urnOf.get(r) as string),
        ),
    ];

    const stackUrn = `urn:pulumi:${stack}::${project}::pulumi:pulumi:Stack::${project}-${stack}`;
    const resources: PlannedResource[] = [{ type: "pulumi:pulumi:Stack", name: `${project}-${stack}`, urn: stackUrn, props: {} }];
    for (const s of seen) {
        const propertyDependencies: Record<string, string[]> = {};
        for (const [key, value] of Object.entries(s.props ?? {})) {
            const urns = urnsOf(await resourcesIn(value), s.resource);
            if (urns.length > 0) propertyDependencies[key] = urns;
        }
        const explicit = urnsOf(await resourcesIn(s.opts.dependsOn), s.resource);
        const dependencies = [...new Set([...explicit, ...Object.values(propertyDependencies).flat()])];
        const recordedInputs = inputsByKey.get(`${s.type}::${s.name}`) ?? {};
        resources.push({
            type: s.type,
            name: s.name,
            urn: urnOf.get(s.resource) as string,
            props: unwrapSecrets(recordedInputs) as Record<string, unknown>,
            parent: s.opts.parent ? urnOf.get(s.opts.parent) : stackUrn,
            dependencies,
            propertyDependencies,
            additionalSecretOutputs: s.opts.additionalSecretOutputs ?? [],
        });
    }
    return { resources, objects: seen.map((s) => ({ type: s.type, name: s.name, resource: s.resource })) };
}
