// Rules on digitalocean.Droplet inputs: access, size, region, tags, monitoring, backups, idle stop.
import * as digitalocean from "@pulumi/digitalocean";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { SIZE_TABLE_NAME, hasTag, isProd, readKnown, sizeOf, sizes, tagValue, tagsOf, usd, withDefaults } from "./shared";
import { IDLE_STOP_TAG } from "../components/environment";

export const dropletSshKeyRequired: ResourceValidationPolicy = {
    name: "droplet-ssh-key-required",
    description:
        "A droplet has at least one SSH key. Without one, DigitalOcean sets a root password and emails it, " +
        "and the provisioning stages cannot connect by key.",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: { properties: {} },
    validateResource: validateResourceOfType(digitalocean.Droplet, (droplet, args, reportViolation) => {
        // The keys are usually another resource's id, unknown during preview: count them, never read them.
        const keys = readKnown(() => droplet.sshKeys);
        if (keys.known && (!Array.isArray(keys.value) || keys.value.length === 0)) {
            reportViolation(`Droplet "${args.name}" has no SSH key: set sshKeys so that login is by key, never by a root password.`);
        }
    }),
};

/** What in user data turns password login on, and how a message names it. */
const PASSWORD_LOGIN_PATTERNS: ReadonlyArray<{ label: string; re: RegExp }> = [
    { label: "chpasswd", re: /\bchpasswd\b/ },
    { label: "ssh_pwauth: true", re: /^\s*ssh_pwauth\s*:\s*["']?(true|yes|on|1)\b/im },
    { label: "PasswordAuthentication yes", re: /\bPasswordAuthentication\s+yes\b/i },
    { label: "PermitRootLogin yes", re: /\bPermitRootLogin\s+yes\b/i },
    { label: "passwd:", re: /^\s*-?\s*(passwd|plain_text_passwd|hashed_passwd)\s*:/m },
    { label: "password:", re: /^password\s*:/m },
    { label: "passwd root", re: /\bpasswd\s+(-\S+\s+)*root\b/ },
];

export const dropletNoPasswordLogin: ResourceValidationPolicy = {
    name: "droplet-no-password-login",
    description:
        "A droplet's user data neither sets a password (chpasswd, passwd:, password:) nor turns on password SSH " +
        "(ssh_pwauth: true, PasswordAuthentication yes, PermitRootLogin yes): a public SSH port sees thousands of " +
        "guesses a day, and keys are the only sign-in.",
    enforcementLevel: "mandatory",
    severity: "critical",
    configSchema: { properties: {} },
    validateResource: validateResourceOfType(digitalocean.Droplet, (droplet, args, reportViolation) => {
        const userData = readKnown(() => droplet.userData);
        if (!userData.known || typeof userData.value !== "string") return;
        const text = userData.value;
        const found = PASSWORD_LOGIN_PATTERNS.filter((p) => p.re.test(text)).map((p) => p.label);
        if (found.length > 0) {
            reportViolation(`Droplet "${args.name}" user data enables password login (${found.join(", ")}): ` + "remove it; sign-in is by SSH key only.");
        }
    }),
};

export interface SizeMinimumConfig {
    minimumMemoryMb: number;
}
const SIZE_MINIMUM_DEFAULTS: SizeMinimumConfig = { minimumMemoryMb: 2048 };

export const dropletSizeMinimum: ResourceValidationPolicy = {
    name: "droplet-size-minimum",
    description:
        `A droplet has at least the desktop's minimum memory (2048 MB by default), looked up in ${SIZE_TABLE_NAME}: ` +
        "below it xfce4, xrdp and an IDE run out of memory and provisioning fails. A size missing from the table " +
        "cannot be checked and is reported.",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: {
        properties: {
            minimumMemoryMb: { type: "integer", minimum: 0, default: SIZE_MINIMUM_DEFAULTS.minimumMemoryMb },
        },
    },
    validateResource: validateResourceOfType(digitalocean.Droplet, (droplet, args, reportViolation) => {
        const { minimumMemoryMb } = withDefaults(args.getConfig<Partial<SizeMinimumConfig>>(), SIZE_MINIMUM_DEFAULTS);
        const slug = droplet.size;
        const size = sizeOf(slug);
        if (!size) {
            reportViolation(
                `Droplet "${args.name}" size "${slug}" is not in ${SIZE_TABLE_NAME}, so its memory cannot be checked ` +
                    `against the minimum of ${minimumMemoryMb} MB: use a listed size or add it to the table.`,
            );
        } else if (size.memoryMb < minimumMemoryMb) {
            reportViolation(
                `Droplet "${args.name}" size "${slug}" has ${size.memoryMb} MB of memory, under the desktop's minimum ` + `of ${minimumMemoryMb} MB.`,
            );
        }
    }),
};

export interface SizeRecommendedConfig {
    recommendedMemoryMb: number;
    recommendedVcpus: number;
}
const SIZE_RECOMMENDED_DEFAULTS: SizeRecommendedConfig = { recommendedMemoryMb: 4096, recommendedVcpus: 2 };

export const dropletSizeRecommended: ResourceValidationPolicy = {
    name: "droplet-size-recommended",
    description:
        `A droplet has the recommended memory and vCPUs (4096 MB and 2 by default, from ${SIZE_TABLE_NAME}): ` +
        "provisioning targets 15 minutes on 4 GB / 2 vCPU and 20 on 2 GB / 1 vCPU, and the IDEs are slow below it.",
    enforcementLevel: "advisory",
    severity: "low",
    configSchema: {
        properties: {
            recommendedMemoryMb: { type: "integer", minimum: 0, default: SIZE_RECOMMENDED_DEFAULTS.recommendedMemoryMb },
            recommendedVcpus: { type: "integer", minimum: 0, default: SIZE_RECOMMENDED_DEFAULTS.recommendedVcpus },
        },
    },
    validateResource: validateResourceOfType(digitalocean.Droplet, (droplet, args, reportViolation) => {
        const cfg = withDefaults(args.getConfig<Partial<SizeRecommendedConfig>>(), SIZE_RECOMMENDED_DEFAULTS);
        const size = sizeOf(droplet.size);
        // An unknown slug is droplet-size-minimum's to report.
        if (!size) return;
        if (size.memoryMb < cfg.recommendedMemoryMb || size.vcpus < cfg.recommendedVcpus) {
            reportViolation(
                `Droplet "${args.name}" size "${droplet.size}" (${size.vcpus} vCPU, ${size.memoryMb} MB) is under the ` +
                    `recommended ${cfg.recommendedVcpus} vCPU / ${cfg.recommendedMemoryMb} MB: provisioning and the IDEs will be slow.`,
            );
        }
    }),
};

export interface RegionConfig {
    allowedRegions: string[];
}
/** Every region the provider SDK knows; a stack's policy config narrows it. */
const REGION_DEFAULTS: RegionConfig = { allowedRegions: Object.values(digitalocean.Region) };

export const dropletRegionAllowed: ResourceValidationPolicy = {
    name: "droplet-region-allowed",
    description:
        "A droplet is in one of the allowed regions (policy config allowedRegions; by default every region the " +
        "DigitalOcean SDK lists): data stays where the team agreed, and a typo fails in preview, not halfway through an update.",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: {
        properties: {
            allowedRegions: { type: "array", items: { type: "string" }, minItems: 1, default: REGION_DEFAULTS.allowedRegions },
        },
    },
    validateResource: validateResourceOfType(digitalocean.Droplet, (droplet, args, reportViolation) => {
        const { allowedRegions } = withDefaults(args.getConfig<Partial<RegionConfig>>(), REGION_DEFAULTS);
        const region = droplet.region;
        if (region === undefined || !allowedRegions.includes(region)) {
            const what = region === undefined ? "has no region" : `region "${region}" is not allowed`;
            reportViolation(`Droplet "${args.name}" ${what}: choose one of ${allowedRegions.join(", ")}.`);
        }
    }),
};

export interface RequiredTagsConfig {
    requiredTags: string[];
}
const REQUIRED_TAGS_DEFAULTS: RequiredTagsConfig = { requiredTags: ["environment", "owner"] };

export const dropletRequiredTags: ResourceValidationPolicy = {
    name: "droplet-required-tags",
    description:
        "A droplet carries the required tags (environment and owner by default), as `key` or `key:value`: " +
        "a powered-off droplet is still billed, and the tags say whose it is and what it is for.",
    enforcementLevel: "advisory",
    severity: "low",
    configSchema: {
        properties: {
            requiredTags: { type: "array", items: { type: "string" }, default: REQUIRED_TAGS_DEFAULTS.requiredTags },
        },
    },
    validateResource: validateResourceOfType(digitalocean.Droplet, (droplet, args, reportViolation) => {
        const { requiredTags } = withDefaults(args.getConfig<Partial<RequiredTagsConfig>>(), REQUIRED_TAGS_DEFAULTS);
        const tags = tagsOf(droplet.tags);
        const missing = requiredTags.filter((key) => !hasTag(tags, key));
        if (missing.length > 0) {
            reportViolation(
                `Droplet "${args.name}" is missing required tags: ${missing.join(", ")} ` + `(as "key" or "key:value", e.g. "${missing[0]}:<value>").`,
            );
        }
    }),
};

export const dropletMonitoring: ResourceValidationPolicy = {
    name: "droplet-monitoring",
    description: "A droplet has monitoring on: the metrics agent feeds the memory, disk and CPU alerts (MonitorAlerts), " + "which see nothing without it.",
    enforcementLevel: "advisory",
    severity: "low",
    configSchema: { properties: {} },
    validateResource: validateResourceOfType(digitalocean.Droplet, (droplet, args, reportViolation) => {
        if (droplet.monitoring !== true) {
            reportViolation(`Droplet "${args.name}" has monitoring off: set monitoring: true so that the alerts have metrics.`);
        }
    }),
};

export const dropletBackupsInProd: ResourceValidationPolicy = {
    name: "droplet-backups-in-prod",
    description:
        "A droplet in a prod stack (stack name prod, production or prod-*, stack tag environment=prod, or droplet tag " +
        "environment:prod) has backups on: a lost prod workstation costs a day of setup and whatever was not pushed.",
    enforcementLevel: "advisory",
    severity: "medium",
    configSchema: { properties: {} },
    validateResource: validateResourceOfType(digitalocean.Droplet, (droplet, args, reportViolation) => {
        if (!isProd({ urn: args.urn, stackTags: args.stackTags, tags: tagsOf(droplet.tags) })) {
            args.notApplicable("not a prod stack");
        }
        if (droplet.backups !== true) {
            const pct = Math.round(sizes().backupsSurcharge * 100);
            reportViolation(`Droplet "${args.name}" has backups off in a prod stack: set backups: true (adds ${pct}% to its price).`);
        }
    }),
};

export const dropletIdleStopOutsideProd: ResourceValidationPolicy = {
    name: "droplet-idle-stop-outside-prod",
    description:
        "A workstation droplet outside prod stops by itself when nobody works (config idleStopMinutes, which the program " +
        `writes as the droplet tag ${IDLE_STOP_TAG}:<minutes>, or ${IDLE_STOP_TAG}:off): without it, a forgotten workstation is ` +
        "billed around the clock until someone stops it. Droplets without the tag (an image builder) are not workstations.",
    enforcementLevel: "advisory",
    severity: "low",
    configSchema: { properties: {} },
    validateResource: validateResourceOfType(digitalocean.Droplet, (droplet, args, reportViolation) => {
        const tags = tagsOf(droplet.tags);
        const setting = tagValue(tags, IDLE_STOP_TAG);
        if (setting === undefined) args.notApplicable(`no ${IDLE_STOP_TAG} tag: not a workstation`);
        if (isProd({ urn: args.urn, stackTags: args.stackTags, tags })) args.notApplicable("a prod stack");
        if (setting === "off") {
            const size = sizeOf(droplet.size);
            const price = size ? ` (${usd(size.priceMonthly)} a month for ${String(droplet.size)})` : "";
            reportViolation(
                `Droplet "${args.name}" runs outside prod with no idle stop (idleStopMinutes 0): it is billed around the clock${price} ` +
                    "until someone stops it. Set workstation:idleStopMinutes (e.g. 120) so that npm run deploy -- stop-idle stops it when nobody works.",
            );
        }
    }),
};

export const dropletPolicies: ResourceValidationPolicy[] = [
    dropletSshKeyRequired,
    dropletNoPasswordLogin,
    dropletSizeMinimum,
    dropletSizeRecommended,
    dropletRegionAllowed,
    dropletRequiredTags,
    dropletMonitoring,
    dropletBackupsInProd,
    dropletIdleStopOutsideProd,
];
