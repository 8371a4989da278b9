// Helpers shared by the rule modules: the size table, tags, the environment a
// resource belongs to, port ranges, and policy config with defaults.
// The size table itself is components/sizes.ts's.
import { UnknownValueError } from "@pulumi/policy";
import { isProdStack } from "../components/environment";
import { DropletSize, sizes } from "../components/sizes";

export { SIZE_TABLE_NAME, SIZE_TABLE_PATH, sizeOf, sizes } from "../components/sizes";
export type { DropletSize, SizeTable } from "../components/sizes";

/** Estimated monthly USD of one droplet: the table's price, plus the backups surcharge when on. */
export function dropletMonthlyCost(size: DropletSize, backups: boolean): { base: number; backups: number } {
    return { base: size.priceMonthly, backups: backups ? size.priceMonthly * sizes().backupsSurcharge : 0 };
}

export function usd(n: number): string {
    return `$${n.toFixed(2)}`;
}

/** DigitalOcean tags are plain strings; the program writes them as `key:value`. */
export function tagsOf(value: unknown): string[] {
    return Array.isArray(value) ? value.filter((t): t is string => typeof t === "string") : [];
}

/** A required tag `key` is met by a tag `key` or `key:<anything>`. */
export function hasTag(tags: readonly string[], key: string): boolean {
    return tags.some((t) => t === key || t.startsWith(`${key}:`));
}

/** The value of the first `key:value` tag, if any. */
export function tagValue(tags: readonly string[], key: string): string | undefined {
    const tag = tags.find((t) => t.startsWith(`${key}:`));
    return tag === undefined ? undefined : tag.slice(key.length + 1);
}

/** The stack name inside a URN: `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function stackOfUrn(urn: string | undefined): string | undefined {
    const m = /^urn:pulumi:([^:]+)::/.exec(urn ?? "");
    return m ? m[1] : undefined;
}

const PROD_VALUES = new Set(["prod", "production"]);

/**
 * Whether a resource belongs to a production environment. Any one signal is enough
 * (fail closed: a doubtful stack gets the stricter rules):
 * - the stack name is `prod` or `production`, or starts with `prod-` (from the URN, or
 *   PULUMI_STACK, which the CLI sets for policy packs);
 * - the Pulumi stack tag `environment` is `prod` or `production`;
 * - the resource carries the DigitalOcean tag `environment:prod` or `environment:production`
 *   (a droplet's own tags; a firewall's `tags` name the droplets it applies to).
 */
export function isProd(ctx: { urn?: string; stackTags?: ReadonlyMap<string, string>; tags?: readonly string[] }): boolean {
    const stack = stackOfUrn(ctx.urn) ?? process.env.PULUMI_STACK;
    if (stack !== undefined && isProdStack(stack)) return true;
    const stackTag = ctx.stackTags?.get("environment");
    if (stackTag !== undefined && PROD_VALUES.has(stackTag)) return true;
    const tag = tagValue(ctx.tags ?? [], "environment");
    return tag !== undefined && PROD_VALUES.has(tag);
}

/** An inclusive port range. */
export interface PortRange {
    from: number;
    to: number;
}

/**
 * A DigitalOcean firewall `portRange`: "22", "8000-8080", or "all"/"0"/empty for every port.
 * Returns undefined for text that is none of these.
 */
export function parsePortRange(value: unknown): PortRange | undefined {
    if (value === undefined || value === null || value === "" || value === "all" || value === "0") {
        return { from: 1, to: 65535 };
    }
    const text = String(value).trim();
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(text);
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    return from <= to ? { from, to } : { from: to, to: from };
}

export function overlaps(a: PortRange, b: PortRange): boolean {
    return a.from <= b.to && b.from <= a.to;
}

export function formatRange(r: PortRange): string {
    if (r.from === 1 && r.to === 65535) return "all ports";
    return r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`;
}

const WORLD = new Set(["0.0.0.0/0", "::/0", "0.0.0.0", "::"]);

/** Whether a firewall source address means "anyone on the internet". */
export function isWorld(address: string): boolean {
    return WORLD.has(address.trim());
}

/** A policy's config: what the stack's policy config sets, over the defaults. */
export function withDefaults<T extends object>(set: Partial<T> | undefined, defaults: T): T {
    const out = { ...defaults };
    for (const [k, v] of Object.entries(set ?? {})) {
        if (v !== undefined && k !== "enforcementLevel") (out as Record<string, unknown>)[k] = v;
    }
    return out;
}

/**
 * Reads a property that may be unknown during preview (a value computed from another
 * resource's output). Returns `{ known: false }` instead of letting the policy
 * framework turn the whole rule into "can't run during preview".
 */
export function readKnown<T>(read: () => T): { known: true; value: T } | { known: false } {
    try {
        return { known: true, value: read() };
    } catch (e) {
        if (e instanceof UnknownValueError) return { known: false };
        throw e;
    }
}
