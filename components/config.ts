// The one typed, validated configuration of a workstation. Everything the program
// reads from `pulumi config` passes through parseConfig() before any resource is
// registered, so a bad value fails fast with the key, the value and what is allowed.
import * as pulumi from "@pulumi/pulumi";
import { DotfilesConfig, parseDotfiles } from "./dotfiles";
import { DEFAULT_IDE_SOURCES, IDE_NAMES, IDE_SOURCE_FIELDS, IdeCandidate, IdeName, IdeSource } from "./ideSources";
import { DEFAULT_STAGE_ESTIMATES, STAGE_NAMES, StageName } from "./stages";
import {
    CIDR_ALLOWED,
    EMAIL_ALLOWED,
    FIREWALL_RULE_SOURCES_MAX,
    FINGERPRINT_ALLOWED,
    IMAGE_ALLOWED,
    PROJECT_NAME_ALLOWED,
    REGION_ALLOWED,
    Refusal,
    SIZE_ALLOWED,
    STACK_ALLOWED,
    TAG_ALLOWED,
    USERNAME_ALLOWED,
    Validator,
    asValidator,
    cidrProblem,
    matches,
    emailProblem,
    fingerprintProblem,
    imageProblem,
    projectNameProblem,
    publicKeyProblem,
    quote,
    regionProblem,
    sameCidr,
    sameEmail,
    samePublicKey,
    sameTag,
    sizeProblem,
    stackNameProblem,
    tagProblem,
    textProblem,
    usernameProblem,
} from "./validate";
import { VOLUME_MAX_GIB, VOLUME_MIN_GIB, VOLUME_REGIONS } from "./homeVolume";
import { workstationName } from "./environment";

export { IDE_NAMES, IdeName, IdeSource, STAGE_NAMES, StageName };
export { isCidr, isPublicKey } from "./validate";

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
    /** Sources fail2ban never bans (its `ignoreip`), e.g. your office. Default none. */
    sshNeverBanCidrs: string[];
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
    /**
     * Seconds each stage may run on the host before it is stopped there (provisioning/stage-bound.sh);
     * unset stages keep STAGE_TIMEOUT_SECONDS. Raise one for a slow mirror; lower ones make a hang fail sooner.
     */
    stageTimeouts: Partial<Record<StageName, number>>;
    /** Where each IDE comes from; override for a mirror. */
    ideSources: Record<IdeName, IdeSource>;
    /** DigitalOcean project name. Default `workstation-<stack>`. */
    projectName: string;
    /** Any new value runs every provisioning stage again on the next `pulumi up`. */
    provisioningRun: string;
    /** A dotfiles repository installed into the user's home (components/dotfiles.ts). Default none. */
    dotfiles?: DotfilesConfig;
    /** GiB of the volume that holds /home and outlives the droplet; 0: no volume. Default 20. */
    homeVolumeGb: number;
    /** false: no droplet (nothing billed but the volume); true: a droplet, provisioned. Default true. */
    running: boolean;
    /** Minutes without activity after which `deploy stop-idle` stops the stack; 0: never. Default 0. */
    idleStopMinutes: number;
    /**
     * `workstation` (default) builds a workstation; `image` makes this stack an image stack:
     * a builder with the install stages only, generalised and snapshotted (components/image.ts).
     */
    role: Role;
    /**
     * An image stack (`org/project/stack`) whose `snapshotId` output is the droplet image, so that
     * a re-bake reaches this workstation on its next start. Default none (use `image`).
     */
    imageStack: string;
    /** An image baked more than this many days ago gets its pending security updates on start. Default 14. */
    imageMaxAgeDays: number;
    /** Image stacks: how many snapshots of this stack to keep; older ones are pruned. Default 3. */
    imageKeep: number;
    /** Image stacks: this bake's id (names the snapshot `workstation-image-<stack>-<bake>`); a new id bakes anew. */
    imageBake: string;
    /**
     * Image stacks: true while baking; false removes the builder droplet and keeps the snapshot
     * (the second `up` of a bake, README "Images"). Default true.
     */
    imageBuilder: boolean;
}

export const ROLES = ["workstation", "image"] as const;
export type Role = (typeof ROLES)[number];
/** `org/project/stack` as Pulumi names a stack across projects. */
const STACK_REFERENCE = /^$|^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;

/** Raised for bad configuration; lists every problem found, one per line. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid workstation configuration:\n  - ${problems.join("\n  - ")}`);
        this.name = "ConfigError";
    }
}

/** Keys this program understands, in the order the README documents them. */
export const CONFIG_KEYS = [
    "region",
    "size",
    "image",
    "username",
    "ides",
    "desktop",
    "allowedSshCidrs",
    "sshNeverBanCidrs",
    "authorizedKeys",
    "existingSshKeyFingerprints",
    "tags",
    "backups",
    "alertEmails",
    "stageEstimates",
    "baseline",
    "stageTimeouts",
    "ideSources",
    "projectName",
    "provisioningRun",
    "dotfiles",
    "homeVolumeGb",
    "running",
    "idleStopMinutes",
    "role",
    "imageStack",
    "imageMaxAgeDays",
    "imageKeep",
    "imageBake",
    "imageBuilder",
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** Default values as Pulumi.yaml states them (a test keeps the two in step). */
export function configDefaults(stack: string): WorkstationConfig {
    return {
        region: "nyc3",
        size: "s-2vcpu-4gb",
        image: "debian-13-x64",
        username: "dev",
        ides: [...IDE_NAMES],
        desktop: true,
        allowedSshCidrs: ["0.0.0.0/0", "::/0"],
        sshNeverBanCidrs: [],
        authorizedKeys: [],
        existingSshKeyFingerprints: [],
        tags: [],
        backups: false,
        alertEmails: [],
        stageEstimates: { ...DEFAULT_STAGE_ESTIMATES },
        baseline: {},
        stageTimeouts: {},
        ideSources: structuredClone(DEFAULT_IDE_SOURCES),
        projectName: workstationName(stack),
        provisioningRun: "",
        homeVolumeGb: 20,
        running: true,
        idleStopMinutes: 0,
        role: "workstation",
        imageStack: "",
        imageMaxAgeDays: 14,
        imageKeep: 3,
        imageBake: "",
        imageBuilder: true,
    };
}

/** The longest a stage may be expected or measured to take, in seconds: a day. More is a unit mistake. */
export const MAX_STAGE_SECONDS = 86_400;

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

    // The stack name is no config key, but it names the droplet (a host name), its firewall and a tag.
    const stackRefusal = stackNameProblem(stack);
    if (stackRefusal !== undefined) {
        problems.push(
            `stack ${quote(stack)} is not allowed${stackRefusal ? `: ${stackRefusal}` : ""}; it names the droplet ` +
                `(workstation-<stack>, its host name) and tags it environment:<stack>, so expected ${STACK_ALLOWED}`,
        );
    }

    const cfg: WorkstationConfig = {
        region: p.string("region", d.region, regionProblem, REGION_ALLOWED),
        size: p.string("size", d.size, sizeProblem, SIZE_ALLOWED),
        image: p.string("image", d.image, imageProblem, IMAGE_ALLOWED),
        username: p.username(d.username),
        ides: p.ides(d.ides),
        desktop: p.boolean("desktop", d.desktop),
        allowedSshCidrs: p.cidrs("allowedSshCidrs", d.allowedSshCidrs, {
            nonEmpty: true,
            max: { items: FIREWALL_RULE_SOURCES_MAX, why: "a DigitalOcean firewall rule takes at most 1000 sources" },
        }),
        sshNeverBanCidrs: p.cidrs("sshNeverBanCidrs", d.sshNeverBanCidrs, {
            max: { items: FIREWALL_RULE_SOURCES_MAX, why: "fail2ban's ignoreip is one line; keep it as short as a firewall rule" },
        }),
        authorizedKeys: p.list("authorizedKeys", d.authorizedKeys, publicKeyProblem, 'OpenSSH public keys ("ssh-ed25519 AAAA… comment")', {
            text: { ascii: false },
            unique: { noun: "key", same: samePublicKey, why: "one key blob, whatever the comment" },
        }),
        existingSshKeyFingerprints: p.list("existingSshKeyFingerprints", d.existingSshKeyFingerprints, fingerprintProblem, FINGERPRINT_ALLOWED, {
            unique: { noun: "key" },
        }),
        tags: p.list("tags", d.tags, tagProblem, TAG_ALLOWED, { unique: { noun: "tag", same: sameTag, why: "DigitalOcean tags ignore case" } }),
        backups: p.boolean("backups", d.backups),
        alertEmails: p.list("alertEmails", d.alertEmails, emailProblem, EMAIL_ALLOWED, {
            unique: { noun: "address", same: sameEmail, why: "addresses ignore case" },
        }),
        stageEstimates: {
            ...d.stageEstimates,
            ...p.stageSeconds("stageEstimates", (n) => n > 0 && n <= MAX_STAGE_SECONDS, `positive seconds, at most ${MAX_STAGE_SECONDS} (a day)`),
        },
        baseline: p.stageSeconds("baseline", (n) => n >= 0 && n <= MAX_STAGE_SECONDS, `seconds, zero or more, at most ${MAX_STAGE_SECONDS} (a day)`),
        stageTimeouts: p.stageSeconds(
            "stageTimeouts",
            (n) => Number.isInteger(n) && n >= 1 && n <= MAX_STAGE_SECONDS,
            `whole seconds, 1 to ${MAX_STAGE_SECONDS} (a day)`,
        ),
        ideSources: p.ideSources(),
        projectName: p.string("projectName", d.projectName, projectNameProblem, PROJECT_NAME_ALLOWED),
        provisioningRun: p.string(
            "provisioningRun",
            d.provisioningRun,
            /^[A-Za-z0-9_.:-]{0,64}$/,
            "up to 64 letters, digits, dots, colons, dashes or underscores",
            { allowEmpty: true },
        ),
        homeVolumeGb: p.integer(
            "homeVolumeGb",
            d.homeVolumeGb,
            (n) => n === 0 || (n >= VOLUME_MIN_GIB && n <= VOLUME_MAX_GIB),
            `0 (no home volume) or a whole number of GiB from ${VOLUME_MIN_GIB} to ${VOLUME_MAX_GIB}, as DigitalOcean creates volumes`,
        ),
        running: p.boolean("running", d.running),
        idleStopMinutes: p.integer(
            "idleStopMinutes",
            d.idleStopMinutes,
            (n) => n === 0 || (n >= 15 && n <= 10080),
            "0 (never stop) or whole minutes from 15 to 10080 (a week); under 15 a user would be stopped between two coffees",
        ),
        role: p.string("role", d.role, new RegExp(`^(${ROLES.join("|")})$`), `one of ${ROLES.join(", ")}`) as Role,
        imageStack: p.string("imageStack", d.imageStack, STACK_REFERENCE, "an image stack as org/project/stack", { allowEmpty: true }),
        imageMaxAgeDays: p.integer("imageMaxAgeDays", d.imageMaxAgeDays, (n) => n >= 1 && n <= 365, "a whole number from 1 to 365"),
        imageKeep: p.integer("imageKeep", d.imageKeep, (n) => n >= 1 && n <= 50, "a whole number from 1 to 50"),
        imageBake: p.string("imageBake", d.imageBake, /^$|^[a-z0-9][a-z0-9-]{0,39}$/, "up to 40 lower-case letters, digits or dashes, such as 2026-12-03", {
            allowEmpty: true,
        }),
        imageBuilder: p.boolean("imageBuilder", d.imageBuilder),
    };
    problems.push(...homeVolumeRegionProblems(cfg));
    if (cfg.role === "image" && !cfg.imageBake) {
        problems.push(`${CONFIG_NAMESPACE}:imageBake: an image stack needs a bake id, such as the date (2026-12-03); it names the snapshot`);
    }
    if (cfg.imageStack && raw("image") !== undefined && cfg.image !== d.image) {
        problems.push(
            `${CONFIG_NAMESPACE}:imageStack: ${quote(cfg.imageStack)} and ${CONFIG_NAMESPACE}:image ${quote(cfg.image)} both name the droplet's image; set one of them`,
        );
    }
    if (cfg.imageStack && cfg.role === "image") {
        problems.push(
            `${CONFIG_NAMESPACE}:imageStack: an image stack bakes from a base image, not from another image stack; remove imageStack or set role to workstation`,
        );
    }

    const dotfiles = parseDotfiles(raw("dotfiles"), problems, CONFIG_NAMESPACE);
    if (dotfiles) cfg.dotfiles = dotfiles;

    if (problems.length) throw new ConfigError(problems);
    return cfg;
}

/** A home volume must be in the droplet's region, and not every region offers volumes. */
function homeVolumeRegionProblems(cfg: Pick<WorkstationConfig, "region" | "homeVolumeGb">): string[] {
    if (cfg.homeVolumeGb === 0 || VOLUME_REGIONS.includes(cfg.region)) return [];
    return [
        `${CONFIG_NAMESPACE}:region: "${cfg.region}" offers no volumes, so it cannot hold a home volume of ${cfg.homeVolumeGb} GiB; ` +
            `choose one of ${VOLUME_REGIONS.join(", ")}, or set ${CONFIG_NAMESPACE}:homeVolumeGb to 0 (the home then goes with the droplet)`,
    ];
}

function duplicates<T>(items: T[]): T[] {
    return [...new Set(items.filter((v, i) => items.indexOf(v) !== i))];
}

/** How a list key tells duplicates: `same` maps spellings of one thing to one key (default: exact). */
interface Uniqueness {
    /** What one item is, for the message ("tag"). */
    noun: string;
    same?: (value: string) => string;
    /** Why two different spellings are one item ("DigitalOcean tags ignore case"). */
    why?: string;
}

/** Items given twice, and different spellings of one item, each as one problem. */
function duplicateProblems(key: string, items: string[], u: Uniqueness): string[] {
    const groups = new Map<string, string[]>();
    for (const item of items) {
        const id = (u.same ?? ((v: string) => v))(item);
        groups.set(id, [...(groups.get(id) ?? []), item]);
    }
    const repeated: string[] = [];
    const problems: string[] = [];
    for (const group of groups.values()) {
        if (group.length < 2) continue;
        const spellings = [...new Set(group)];
        if (spellings.length === 1) {
            repeated.push(spellings[0]);
        } else {
            problems.push(
                `${CONFIG_NAMESPACE}:${key}: ${spellings.map(quote).join(" and ")} are the same ${u.noun}` +
                    `${u.why ? ` (${u.why})` : ""}; list each ${u.noun} once`,
            );
        }
    }
    if (repeated.length) problems.unshift(`${CONFIG_NAMESPACE}:${key}: ${quote(repeated)} given more than once; list each ${u.noun} once`);
    return problems;
}

/** Parses one key at a time, recording a problem instead of throwing, so all are reported at once. */
class Parser {
    constructor(
        private readonly raw: RawConfig,
        private readonly problems: string[],
    ) {}

    private bad(key: string, value: unknown, allowed: string, reason: Refusal = ""): void {
        this.problems.push(`${CONFIG_NAMESPACE}:${key}: ${quote(value)} is not allowed${reason ? `: ${reason}` : ""}; expected ${allowed}`);
    }

    /** The rules every text value follows (textProblem), then the key's own; true when the value passes. */
    private check(
        key: string,
        value: string,
        rule: RegExp | Validator | ((v: string) => boolean),
        allowed: string,
        text: { ascii?: boolean; allowEmpty?: boolean } = {},
    ): boolean {
        const validate = rule instanceof RegExp ? matches(rule) : asValidator(rule);
        const reason = textProblem(value, text) ?? validate(value);
        if (reason === undefined) return true;
        this.bad(key, value, allowed, reason);
        return false;
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

    string(key: string, fallback: string, rule: RegExp | Validator, allowed: string, text: { allowEmpty?: boolean } = {}): string {
        const value = this.raw(key);
        if (value === undefined) return fallback;
        return this.check(key, value, rule, allowed, text) ? value : fallback;
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
        const n = /^-?[0-9]+$/.test(value) ? Number(value) : NaN;
        if (!Number.isSafeInteger(n) || !valid(n)) {
            this.bad(key, value, allowed);
            return fallback;
        }
        return n;
    }

    list(
        key: string,
        fallback: string[],
        valid: Validator | ((v: string) => boolean),
        allowed: string,
        opts: { nonEmpty?: boolean; max?: { items: number; why: string }; text?: { ascii?: boolean }; unique?: Uniqueness } = {},
    ): string[] {
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
        const items = value as string[];
        if (opts.max && items.length > opts.max.items) {
            this.problems.push(`${CONFIG_NAMESPACE}:${key}: ${items.length} entries are too many; expected at most ${opts.max.items} (${opts.max.why})`);
        }
        const good = items.filter((item) => this.check(key, item, valid, allowed, opts.text));
        if (opts.unique) this.problems.push(...duplicateProblems(key, good, opts.unique));
        return items;
    }

    /** A list of CIDRs (CIDR_ALLOWED), host bits zero, each network once; for every CIDR-list key. */
    cidrs(key: string, fallback: string[], opts: { nonEmpty?: boolean; max?: { items: number; why: string } } = {}): string[] {
        return this.list(key, fallback, cidrProblem, CIDR_ALLOWED, { ...opts, unique: { noun: "network", same: sameCidr } });
    }

    username(fallback: string): string {
        const value = this.raw("username");
        if (value === undefined) return fallback;
        const problem = usernameProblem(value);
        if (problem === undefined) return value;
        if ("refusal" in problem) {
            this.bad("username", value, USERNAME_ALLOWED, problem.refusal);
            return fallback;
        }
        this.problems.push(`${CONFIG_NAMESPACE}:username: ${quote(value)} ${problem.taken}; choose another name (default dev)`);
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
                this.problems.push(`${CONFIG_NAMESPACE}:${key}: stage ${quote(stage)} is unknown; stages are ${STAGE_NAMES.join(", ")}`);
            } else if (typeof seconds !== "number" || !Number.isFinite(seconds) || !valid(seconds)) {
                this.problems.push(`${CONFIG_NAMESPACE}:${key}.${stage}: ${quote(seconds)} is not allowed; expected ${allowed}`);
            } else {
                out[stage as StageName] = seconds;
            }
        }
        return out;
    }

    ideSources(): Record<IdeName, IdeSource> {
        const result = structuredClone(DEFAULT_IDE_SOURCES);
        const fields = IDE_SOURCE_FIELDS.join(", ");
        const allowed = `an object keyed by ${IDE_NAMES.join(", ")}, each with some of ${fields}`;
        const parsed = this.json("ideSources", allowed);
        if (!parsed.ok) return result;
        const value = parsed.value;
        if (!isPlainObject(value)) {
            this.bad("ideSources", value, allowed);
            return result;
        }
        for (const [ide, override] of Object.entries(value)) {
            if (!(IDE_NAMES as readonly string[]).includes(ide)) {
                this.problems.push(`${CONFIG_NAMESPACE}:ideSources: IDE "${ide}" is unknown; IDEs are ${IDE_NAMES.join(", ")}`);
                continue;
            }
            if (!isPlainObject(override)) {
                this.bad(`ideSources.${ide}`, override, `an object with some of ${fields}`);
                continue;
            }
            const source = result[ide as IdeName];
            for (const [field, fieldValue] of Object.entries(override)) {
                const where = `ideSources.${ide}.${field}`;
                if (field === "candidates") {
                    const candidates = this.ideCandidates(where, fieldValue);
                    if (candidates) source.candidates = candidates;
                    continue;
                }
                if (field === "package" || field === "binary") {
                    this.problems.push(
                        `${CONFIG_NAMESPACE}:${where}: replaced by candidates, an ordered list of packages and their commands, ` +
                            `e.g. ${JSON.stringify(DEFAULT_IDE_SOURCES[ide as IdeName].candidates)}`,
                    );
                    continue;
                }
                const rule = SOURCE_FIELDS[field as keyof typeof SOURCE_FIELDS];
                if (!rule) {
                    this.problems.push(`${CONFIG_NAMESPACE}:${where}: unknown field; fields are ${fields}`);
                } else if (typeof fieldValue !== "string" || !rule.pattern.test(fieldValue)) {
                    this.bad(where, fieldValue, rule.allowed);
                } else {
                    source[field as keyof typeof SOURCE_FIELDS] = fieldValue;
                }
            }
        }
        return result;
    }

    /** An ordered, non-empty list of distinct {package, command}; undefined (and problems) when bad. */
    private ideCandidates(where: string, value: unknown): IdeCandidate[] | undefined {
        const allowed = 'a non-empty list of {"package": a Debian package name, "command": the command it installs}, most preferred first';
        if (!Array.isArray(value) || value.length === 0) {
            this.bad(where, value, allowed);
            return undefined;
        }
        const out: IdeCandidate[] = [];
        let ok = true;
        value.forEach((item: unknown, i) => {
            const at = `${where}[${i}]`;
            if (!isPlainObject(item)) {
                this.bad(at, item, allowed);
                ok = false;
                return;
            }
            for (const key of Object.keys(item)) {
                if (key !== "package" && key !== "command") {
                    this.problems.push(`${CONFIG_NAMESPACE}:${at}.${key}: unknown field; a candidate has package and command`);
                    ok = false;
                }
            }
            for (const key of ["package", "command"] as const) {
                const v = item[key];
                if (v === undefined) {
                    this.problems.push(`${CONFIG_NAMESPACE}:${at}.${key}: missing; a candidate has package and command`);
                    ok = false;
                } else if (typeof v !== "string" || !CANDIDATE_FIELDS[key].pattern.test(v)) {
                    this.bad(`${at}.${key}`, v, CANDIDATE_FIELDS[key].allowed);
                    ok = false;
                }
            }
            if (ok) out.push({ package: item.package as string, command: item.command as string });
        });
        if (!ok) return undefined;
        const dups = duplicates(out.map((c) => c.package));
        if (dups.length) {
            this.problems.push(`${CONFIG_NAMESPACE}:${where}: package ${JSON.stringify(dups)} given more than once; list each candidate once`);
            return undefined;
        }
        return out;
    }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

const URL_PATTERN = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~%/+-]*)?$/;
const SOURCE_FIELDS: Record<Exclude<keyof IdeSource, "candidates">, { pattern: RegExp; allowed: string }> = {
    repoUrl: { pattern: URL_PATTERN, allowed: "an http(s) URL of an apt repository" },
    suite: { pattern: /^[A-Za-z0-9._/-]+$/, allowed: "an apt suite such as stable" },
    components: { pattern: /^[A-Za-z0-9._-]+( [A-Za-z0-9._-]+)*$/, allowed: "space-separated apt components such as main" },
    keyUrl: { pattern: URL_PATTERN, allowed: "an http(s) URL of the repository's signing key" },
    keyring: { pattern: /^\/[A-Za-z0-9._/-]+\.gpg$/, allowed: "an absolute path ending in .gpg" },
    sourceName: { pattern: /^[A-Za-z0-9_.-]+\.sources$/, allowed: "a file name ending in .sources" },
};
const CANDIDATE_FIELDS: Record<keyof IdeCandidate, { pattern: RegExp; allowed: string }> = {
    // Debian policy 5.6.7: lower case letters, digits, + - . ; at least two characters, starting alphanumeric.
    package: { pattern: /^[a-z0-9][a-z0-9+.-]+$/, allowed: "a Debian package name (lower case letters, digits, + - ., at least 2 characters)" },
    command: { pattern: /^[A-Za-z0-9_.+-]+$/, allowed: "a command name (letters, digits, _ . + -), no path" },
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
