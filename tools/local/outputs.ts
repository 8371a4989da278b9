// Stack outputs under mocks: the program's exports, resolved, with secrets marked, and
// printed the way `pulumi stack output --json` prints them.

import * as pulumi from "@pulumi/pulumi";

/** A resolved output value; secret values are boxed so that printing can mask them. */
export type Resolved = null | boolean | number | string | Resolved[] | { [k: string]: Resolved } | SecretValue;

export class SecretValue {
    constructor(readonly value: Resolved) {}
}

/** The settled value and secretness of an Output (internal helpers, as the SDK's own tests use). */
async function settle(o: pulumi.Output<unknown>): Promise<{ value: unknown; secret: boolean }> {
    const impl = o as unknown as { promise(withUnknowns?: boolean): Promise<unknown>; isSecret: Promise<boolean> };
    const [value, secret] = await Promise.all([impl.promise(true), impl.isSecret]);
    return { value, secret };
}

/** Resolves Outputs and promises at any depth into plain values, boxing secrets. */
export async function resolveValue(value: unknown): Promise<Resolved | undefined> {
    if (pulumi.Output.isInstance(value)) {
        const { value: inner, secret } = await settle(value);
        const resolved = await resolveValue(inner);
        if (resolved === undefined) return undefined;
        return secret && !(resolved instanceof SecretValue) ? new SecretValue(resolved) : resolved;
    }
    if (value instanceof Promise) return resolveValue(await value);
    if (value === undefined || typeof value === "function" || typeof value === "symbol") return undefined;
    if (value === null || typeof value === "boolean" || typeof value === "number" || typeof value === "string") return value;
    if (typeof value === "bigint") return Number(value);
    if (pulumi.Resource.isInstance(value)) {
        // A resource exported as a whole: the engine prints its URN and id.
        const r = value as pulumi.CustomResource;
        return { urn: (await resolveValue(r.urn)) ?? null, ...(pulumi.CustomResource.isInstance(r) ? { id: (await resolveValue(r.id)) ?? null } : {}) };
    }
    if (Array.isArray(value)) {
        const items = await Promise.all(value.map(resolveValue));
        return items.map((v) => (v === undefined ? null : v));
    }
    if (typeof value === "object") {
        const out: { [k: string]: Resolved } = {};
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
            const r = await resolveValue(v);
            if (r !== undefined) out[k] = r;
        }
        return out;
    }
    return undefined;
}

/** Resolves a module's exports (what index.ts exports becomes the stack outputs). */
export async function resolveExports(mod: Record<string, unknown>): Promise<Record<string, Resolved>> {
    const out: Record<string, Resolved> = {};
    for (const [k, v] of Object.entries(mod)) {
        if (k === "__esModule" || k === "default") continue;
        const r = await resolveValue(v);
        if (r !== undefined) out[k] = r;
    }
    return out;
}

/** Plain JSON, secrets either revealed or replaced by "[secret]". */
export function toPlain(value: Resolved, showSecrets: boolean): unknown {
    if (value instanceof SecretValue) return showSecrets ? toPlain(value.value, showSecrets) : "[secret]";
    if (Array.isArray(value)) return value.map((v) => toPlain(v, showSecrets));
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v, showSecrets)]));
    }
    return value;
}

/** Serialises resolved outputs so that secretness survives a trip through JSON (child to parent). */
export function encodeResolved(value: Resolved): unknown {
    if (value instanceof SecretValue) return { "@secret": encodeResolved(value.value) };
    if (Array.isArray(value)) return value.map(encodeResolved);
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeResolved(v)]));
    }
    return value;
}

export function decodeResolved(value: unknown): Resolved {
    if (Array.isArray(value)) return value.map(decodeResolved);
    if (value !== null && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        const keys = Object.keys(obj);
        if (keys.length === 1 && keys[0] === "@secret") return new SecretValue(decodeResolved(obj["@secret"]));
        return Object.fromEntries(keys.map((k) => [k, decodeResolved(obj[k])]));
    }
    return value as Resolved;
}

/** As `pulumi stack output --json [--show-secrets]` prints: keys sorted, two-space indent. */
export function formatStackOutputs(outputs: Record<string, Resolved>, showSecrets: boolean): string {
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(outputs).sort()) sorted[k] = toPlain(outputs[k], showSecrets);
    return JSON.stringify(sorted, null, 2);
}
