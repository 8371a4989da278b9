// The one typed, validated configuration of a workstation. Everything the program
// reads from `pulumi config` passes through parseConfig() before any resource is
// registered, so a bad value fails fast with the key, the value and what is allowed.
import * as net from "net";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_IDE_SOURCES, IDE_NAMES, IdeName, IdeSource } from "./ideSources";
import { DEFAULT_STAGE_ESTIMATES, STAGE_NAMES, StageName } from "./stages";
import { VOLUME_MAX_GIB, VOLUME_MIN_GIB, VOLUME_REGIONS } from "./homeVolume";

export { IDE_NAMES, IdeName, IdeSource, STAGE_NAMES, StageName };

/** The Pulumi config namespace (the project name). */
export const CONFIG_NAMESPACE = "workstation";

/** A workstation's settings after defaults and validation. */
export interface WorkstationConfig {
    /** DigitalOcean region slug. Default `nyc3`. */
    region: string;
    /** Droplet size slug. Default `s-2vcpu-4gb` (the desktop wants 4 GB). */
    size: string;
    /** Droplet image slug. Default `debian-13-x64`. */
    image: string;
    /** The workstation user every stage connects as. Default `dev`. */
    username: string;
    /** IDEs to install, a subset of vscode, cursor, antigravity. Default all three. */
    ides: IdeName[];
    /** XFCE desktop with xrdp on 127.0.0.1:3389. Default true. */
    desktop: boolean;
    /** Sources allowed to reach SSH (22). Default anywhere; narrow it in production. */
    allowedSshCidrs: string[];
    /** Extra public keys for the workstation user. Default none. */
    authorizedKeys: string[];
    /** Keys already registered with DigitalOcean (fingerprint or id), added to the droplet. */
    existingSshKeyFingerprints: string[];
    /** Tags on the droplet and its alerts, besides `workstation` and `environment:<stack>`. */
    tags: string[];
    /** Weekly droplet backups (+20 % of the price). Default false. */
    backups: boolean;
    /** Addresses that receive CPU, memory and disk alerts. Default none (no alerts). */
    alertEmails: string[];
    /** Expected seconds per stage; a stage over 150 % warns, over 200 % is critical. */
    stageEstimates: Record<StageName, number>;
    /** Seconds per stage of a known good run; over 20 % slower is a regression. */
    baseline: Partial<Record<StageName, number>>;
    /** Where each IDE comes from; override for a mirror. */
    ideSources: Record<IdeName, IdeSource>;
    /** DigitalOcean project name. Default `workstation-<stack>`. */
    projectName: string;
    /** Any new value runs every provisioning stage again on the next `pulumi up`. */
    provisioningRun: string;
    /** GiB of the volume that holds /home and outlives the droplet; 0: no volume. Default 20. */
    homeVolumeGb: number;
    /** false: no droplet (nothing billed but the volume); true: a droplet, provisioned. Default true. */
    running: boolean;
    /** Minutes without activity after which `deploy stop-idle` stops the stack; 0: never. Default 0. */
    idleStopMinutes: number;
}

/** Raised for bad configuration; lists every problem found, one per line. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid workstation configuration:\n  - ${problems.join("\n  - ")}`);
        this.name = "ConfigError";
    }
}

/** Keys this program understands, in the order the README documents them. */
export const CONFIG_KEYS = [
    "region", "size", "image", "username", "ides", "desktop", "allowedSshCidrs", "authorizedKeys",
    "existingSshKeyFingerprints", "tags", "backups", "alertEmails", "stageEstimates", "baseline",
    "ideSources", "projectName", "provisioningRun", "homeVolumeGb", "running", "idleStopMinutes",
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** Default values as Pulumi.yaml states them (a test keeps the two in step). */
export function configDefaults(stack: string): Omit<WorkstationConfig, "ideSources"> {
    return {
        region: "nyc3",
        size: "s-2vcpu-4gb",
        image: "debian-13-x64",
        username: "dev",
        ides: [...IDE_NAMES],
        desktop: true,
        allowedSshCidrs: ["0.0.0.0/0", "::/0"],
        authorizedKeys: [],
        existingSshKeyFingerprints: [],
        tags: [],
        backups: false,
        alertEmails: [],
        stageEstimates: { ...DEFAULT_STAGE_ESTIMATES },
        baseline: {},
        projectName: `workstation-${stack}`,
        provisioningRun: "",
        homeVolumeGb: 20,
        running: true,
        idleStopMinutes: 0,
    };
}

// Accounts that exist on Debian/Ubuntu images or that services own; taking one
// over would break the system or hand a service account a login.
const RESERVED_USERNAMES = new Set([
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy",
    "www-data", "backup", "list", "irc", "gnats", "nobody", "nogroup", "_apt", "messagebus", "sshd",
    "xrdp", "polkitd", "avahi", "colord", "debian", "ubuntu", "admin", "sudo", "adm", "staff", "users",
]);

const SSH_KEY_TYPES = new Set([
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
]);

/** Reads one raw config value (as `pulumi config get` would print it), or undefined. */
export type RawConfig = (key: string) => string | undefined;

/**
 * Validates raw config into a WorkstationConfig. `present` lists the keys set in
 * the stack so that a misspelt key is an error rather than silently ignored.
 */
export function parseConfig(raw: RawConfig, stack: string, present: string[] = []): WorkstationConfig {
    const problems: string[] = [];
    const d = configDefaults(stack);
    const p = new Parser(raw, problems);

    for (const key of present) {
        if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
            problems.push(`${CONFIG_NAMESPACE}:${key}: unknown key; known keys are ${CONFIG_KEYS.join(", ")}`);
        }
    }

    const cfg: WorkstationConfig = {
        region: p.string("region", d.region, /^[a-z]{3}[0-9]$/, "a region slug such as nyc3, fra1 or sgp1"),
        size: p.string("size", d.size, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, "a size slug such as s-2vcpu-4gb"),
        image: p.string("image", d.image, /^([a-z0-9][a-z0-9.-]*[a-z0-9]|[0-9]+)$/, "an image slug such as debian-13-x64, or a numeric image id"),
        username: p.username(d.username),
        ides: p.ides(d.ides),
        desktop: p.boolean("desktop", d.desktop),
        allowedSshCidrs: p.list("allowedSshCidrs", d.allowedSshCidrs, isCidr, "IPv4 or IPv6 CIDRs such as 203.0.113.0/24 or ::/0", { nonEmpty: true }),
        authorizedKeys: p.list("authorizedKeys", d.authorizedKeys, isPublicKey, "OpenSSH public keys (\"ssh-ed25519 AAAA… comment\")"),
        existingSshKeyFingerprints: p.list("existingSshKeyFingerprints", d.existingSshKeyFingerprints,
            (v) => /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/.test(v) || /^[0-9]+$/.test(v),
            "MD5 fingerprints (aa:bb:…, 16 pairs) or numeric key ids as DigitalOcean shows them"),
        tags: p.list("tags", d.tags, (v) => /^[A-Za-z0-9:_-]{1,255}$/.test(v), "DigitalOcean tags: letters, digits, colons, dashes and underscores, at most 255 characters"),
        backups: p.boolean("backups", d.backups),
        alertEmails: p.list("alertEmails", d.alertEmails, (v) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v), "email addresses"),
        stageEstimates: { ...d.stageEstimates, ...p.stageSeconds("stageEstimates", (n) => n > 0, "positive seconds") },
        baseline: p.stageSeconds("baseline", (n) => n >= 0, "seconds, zero or more"),
        ideSources: p.ideSources(),
        projectName: p.string("projectName", d.projectName, /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,174}$/, "1 to 175 letters, digits, spaces, dots, dashes or underscores"),
        provisioningRun: p.string("provisioningRun", d.provisioningRun, /^[A-Za-z0-9_.:-]{0,64}$/, "up to 64 letters, digits, dots, colons, dashes or underscores"),
        homeVolumeGb: p.integer("homeVolumeGb", d.homeVolumeGb, (n) => n === 0 || (n >= VOLUME_MIN_GIB && n <= VOLUME_MAX_GIB),
            `0 (no home volume) or a whole number of GiB from ${VOLUME_MIN_GIB} to ${VOLUME_MAX_GIB}, as DigitalOcean creates volumes`),
        running: p.boolean("running", d.running),
        idleStopMinutes: p.integer("idleStopMinutes", d.idleStopMinutes, (n) => n === 0 || (n >= 15 && n <= 10080),
            "0 (never stop) or whole minutes from 15 to 10080 (a week); under 15 a user would be stopped between two coffees"),
    };
    problems.push(...homeVolumeRegionProblems(cfg));

    const dupTags = duplicates(cfg.tags);
    if (dupTags.length) problems.push(`${CONFIG_NAMESPACE}:tags: ${JSON.stringify(dupTags)} given more than once; list each tag once`);

    if (problems.length) throw new ConfigError(problems);
    return cfg;
}

/** A home volume must be in the droplet's region, and not every region offers volumes. */
function homeVolumeRegionProblems(cfg: Pick<WorkstationConfig, "region" | "homeVolumeGb">): string[] {
    if (cfg.homeVolumeGb === 0 || VOLUME_REGIONS.includes(cfg.region)) return [];
    return [`${CONFIG_NAMESPACE}:region: "${cfg.region}" offers no volumes, so it cannot hold a home volume of ${cfg.homeVolumeGb} GiB; `
        + `choose one of ${VOLUME_REGIONS.join(", ")}, or set ${CONFIG_NAMESPACE}:homeVolumeGb to 0 (the home then goes with the droplet)`];
}

function duplicates<T>(items: T[]): T[] {
    return [...new Set(items.filter((v, i) => items.indexOf(v) !== i))];
}

export function isCidr(value: string): boolean {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(value);
    if (!m) return false;
    const family = net.isIP(m[1]);
    const bits = Number(m[2]);
    return (family === 4 && bits <= 32) || (family === 6 && bits <= 128);
}

/** An OpenSSH public key whose base64 blob really starts with its declared type. */
export function isPublicKey(value: string): boolean {
    const parts = value.trim().split(/\s+/);
    if (parts.length < 2 || !SSH_KEY_TYPES.has(parts[0])) return false;
    if (!/^[A-Za-z0-9+/]+={0,3}$/.test(parts[1])) return false;
    const blob = Buffer.from(parts[1], "base64");
    if (blob.length < 4) return false;
    const len = blob.readUInt32BE(0);
    return blob.subarray(4, 4 + len).toString("latin1") === parts[0];
}

/** Parses one key at a time, recording a problem instead of throwing, so all are reported at once. */
class Parser {
    constructor(private readonly raw: RawConfig, private readonly problems: string[]) {}

    private bad(key: string, value: unknown, allowed: string): void {
        this.problems.push(`${CONFIG_NAMESPACE}:${key}: ${JSON.stringify(value)} is not allowed; expected ${allowed}`);
    }

    /** The value as JSON when the key holds a structured value, else undefined (and a problem). */
    private json(key: string, allowed: string): { ok: true; value: unknown } | { ok: false } {
        const text = this.raw(key);
        if (text === undefined) return { ok: false };
        try {
            return { ok: true, value: JSON.parse(text) };
        } catch {
            this.bad(key, text, allowed);
            return { ok: false };
        }
    }

    string(key: string, fallback: string, pattern: RegExp, allowed: string): string {
        const value = this.raw(key);
        if (value === undefined) return fallback;
        if (!pattern.test(value)) {
            this.bad(key, value, allowed);
            return fallback;
        }
        return value;
    }

    boolean(key: string, fallback: boolean): boolean {
        const value = this.raw(key);
        if (value === undefined) return fallback;
        if (value === "true" || value === "false") return value === "true";
        this.bad(key, value, "true or false");
        return fallback;
    }

    /** A whole number, as the CLI passes a declared integer (its decimal text). */
    integer(key: string, fallback: number, valid: (n: number) => boolean, allowed: string): number {
        const value = this.raw(key);
        if (value === undefined) return fallback;
        const n = /^-?[0-9]+$/.test(value.trim()) ? Number(value.trim()) : NaN;
        if (!Number.isSafeInteger(n) || !valid(n)) {
            this.bad(key, value, allowed);
            return fallback;
        }
        return n;
    }

    list(key: string, fallback: string[], valid: (v: string) => boolean, allowed: string, opts: { nonEmpty?: boolean } = {}): string[] {
        const listAllowed = `a list of ${allowed}`;
        const parsed = this.json(key, listAllowed);
        if (!parsed.ok) return fallback;
        const value = parsed.value;
        if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
            this.bad(key, value, listAllowed);
            return fallback;
        }
        if (opts.nonEmpty && value.length === 0) {
            this.bad(key, value, `at least one of ${allowed}`);
            return fallback;
        }
        for (const item of value as string[]) {
            if (!valid(item)) this.bad(key, item, allowed);
        }
        return value as string[];
    }

    username(fallback: string): string {
        const value = this.string("username", fallback, /^[a-z_][a-z0-9_-]{0,31}$/,
            "a Linux user name: lower-case letter or underscore, then up to 31 lower-case letters, digits, dashes or underscores");
        if (RESERVED_USERNAMES.has(value) || value.startsWith("systemd-")) {
            this.problems.push(`${CONFIG_NAMESPACE}:username: "${value}" is reserved by the system; choose another name (default dev)`);
        }
        return value;
    }

    ides(fallback: IdeName[]): IdeName[] {
        const allowed = `a list of distinct IDEs from ${IDE_NAMES.join(", ")}`;
        const parsed = this.json("ides", allowed);
        if (!parsed.ok) return fallback;
        const value = parsed.value;
        if (!Array.isArray(value)) {
            this.bad("ides", value, allowed);
            return fallback;
        }
        for (const item of value) {
            if (!(IDE_NAMES as readonly unknown[]).includes(item)) this.bad("ides", item, `one of ${IDE_NAMES.join(", ")}`);
        }
        const dups = duplicates(value);
        if (dups.length) this.problems.push(`${CONFIG_NAMESPACE}:ides: ${JSON.stringify(dups)} given more than once; list each IDE once`);
        return value.filter((v): v is IdeName => (IDE_NAMES as readonly unknown[]).includes(v));
    }

    stageSeconds(key: string, valid: (n: number) => boolean, allowed: string): Partial<Record<StageName, number>> {
        const objAllowed = `an object of stage name to ${allowed}`;
        const parsed = this.json(key, objAllowed);
        if (!parsed.ok) return {};
        const value = parsed.value;
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            this.bad(key, value, objAllowed);
            return {};
        }
        const out: Partial<Record<StageName, number>> = {};
        for (const [stage, seconds] of Object.entries(value)) {
            if (!(STAGE_NAMES as readonly string[]).includes(stage)) {
                this.problems.push(`${CONFIG_NAMESPACE}:${key}: stage "${stage}" is unknown; stages are ${STAGE_NAMES.join(", ")}`);
            } else if (typeof seconds !== "number" || !Number.isFinite(seconds) || !valid(seconds)) {
                this.problems.push(`${CONFIG_NAMESPACE}:${key}.${stage}: ${JSON.stringify(seconds)} is not allowed; expected ${allowed}`);
            } else {
                out[stage as StageName] = seconds;
            }
        }
        return out;
    }

    ideSources(): Record<IdeName, IdeSource> {
        const result = structuredClone(DEFAULT_IDE_SOURCES);
        const allowed = `an object keyed by ${IDE_NAMES.join(", ")}, each with some of ${Object.keys(SOURCE_FIELDS).join(", ")}`;
        const parsed = this.json("ideSources", allowed);
        if (!parsed.ok) return result;
        const value = parsed.value;
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            this.bad("ideSources", value, allowed);
            return result;
        }
        for (const [ide, override] of Object.entries(value)) {
            if (!(IDE_NAMES as readonly string[]).includes(ide)) {
                this.problems.push(`${CONFIG_NAMESPACE}:ideSources: IDE "${ide}" is unknown; IDEs are ${IDE_NAMES.join(", ")}`);
                continue;
            }
            if (typeof override !== "object" || override === null || Array.isArray(override)) {
                this.bad(`ideSources.${ide}`, override, `an object with some of ${Object.keys(SOURCE_FIELDS).join(", ")}`);
                continue;
            }
            for (const [field, fieldValue] of Object.entries(override)) {
                const rule = SOURCE_FIELDS[field as keyof IdeSource];
                const where = `ideSources.${ide}.${field}`;
                if (!rule) {
                    this.problems.push(`${CONFIG_NAMESPACE}:${where}: unknown field; fields are ${Object.keys(SOURCE_FIELDS).join(", ")}`);
                } else if (typeof fieldValue !== "string" || !rule.pattern.test(fieldValue)) {
                    this.bad(where, fieldValue, rule.allowed);
                } else {
                    result[ide as IdeName][field as keyof IdeSource] = fieldValue;
                }
            }
        }
        return result;
    }
}

const URL_PATTERN = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~%/+-]*)?$/;
const SOURCE_FIELDS: Record<keyof IdeSource, { pattern: RegExp; allowed: string }> = {
    repoUrl: { pattern: URL_PATTERN, allowed: "an http(s) URL of an apt repository" },
    suite: { pattern: /^[A-Za-z0-9._/-]+$/, allowed: "an apt suite such as stable" },
    components: { pattern: /^[A-Za-z0-9._-]+( [A-Za-z0-9._-]+)*$/, allowed: "space-separated apt components such as main" },
    keyUrl: { pattern: URL_PATTERN, allowed: "an http(s) URL of the repository's signing key" },
    package: { pattern: /^[a-z0-9][a-z0-9+.-]+$/, allowed: "a Debian package name" },
    keyring: { pattern: /^\/[A-Za-z0-9._/-]+\.gpg$/, allowed: "an absolute path ending in .gpg" },
    sourceName: { pattern: /^[A-Za-z0-9_.-]+\.sources$/, allowed: "a file name ending in .sources" },
    binary: { pattern: /^[A-Za-z0-9_.+-]+$/, allowed: "a command name" },
};

/**
 * Reads and validates the stack's `workstation:*` config through the Pulumi runtime.
 * Pulumi.yaml's defaults are applied by the CLI; configDefaults() fills the same
 * values when the program runs without it (mocks, the local runner).
 */
export function loadConfig(stack: string): WorkstationConfig {
    const runtime = pulumi.runtime;
    const prefix = `${CONFIG_NAMESPACE}:`;
    const present = Object.keys(runtime.allConfig())
        .filter((k) => k.startsWith(prefix))
        .map((k) => k.slice(prefix.length));
    return parseConfig((key) => runtime.getConfig(`${prefix}${key}`), stack, present);
}
