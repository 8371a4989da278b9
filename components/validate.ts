// Small validators for config values, one per kind of value, reused across keys.
// Each returns undefined when the value is fine, or why it is refused: a reason to
// show ("an IPv4 prefix length is at most 32"), or "" when the value simply
// does not have the allowed form and the "expected …" part of the message says it all.
// The rules are what the consumer downstream would refuse later, after something was
// created: DigitalOcean's API, cloud-init (YAML), useradd, sshd, apt.
import * as net from "net";
import { sizes } from "./sizes";
import { IDLE_STOP_TAG } from "./environment";

/** undefined: fine; "": not of the allowed form; otherwise the reason shown in the message. */
export type Refusal = string | undefined;
export type Validator = (value: string) => Refusal;

/** A validator from a pattern: matching is fine, anything else is refused without a reason. */
export function matches(pattern: RegExp): Validator {
    return (value) => (pattern.test(value) ? undefined : "");
}

/** Accepts the older boolean predicates too (true: fine), so either kind can validate a key. */
export function asValidator(check: Validator | ((value: string) => boolean)): Validator {
    return (value) => {
        const verdict: Refusal | boolean = check(value);
        if (verdict === true) return undefined;
        if (verdict === false) return "";
        return verdict;
    };
}

// Characters a terminal does not show: zero-width, bidirectional controls, odd spaces,
// variation selectors. A value carrying one looks right in the stack file and is
// something else downstream. Ranges of code points, inclusive.
const INVISIBLE: readonly [number, number][] = [
    [0xa0, 0xa0],
    [0xad, 0xad],
    [0x34f, 0x34f],
    [0x61c, 0x61c],
    [0x115f, 0x1160],
    [0x17b4, 0x17b5],
    [0x180b, 0x180e],
    [0x2000, 0x200f],
    [0x202a, 0x202f],
    [0x205f, 0x206f],
    [0x3000, 0x3000],
    [0xfe00, 0xfe0f],
    [0xfeff, 0xfeff],
];
// \u0085, \u2028 and \u2029 end a line for YAML and for many readers, as \n and \r do.
const LINE_BREAKS = new Set([0x0a, 0x0d, 0x0b, 0x0c, 0x85, 0x2028, 0x2029]);

function isInvisible(cp: number): boolean {
    return INVISIBLE.some(([from, to]) => cp >= from && cp <= to);
}

function isControl(cp: number): boolean {
    return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);
}

/** The first character of `value` for which `test` holds. */
function find(value: string, test: (cp: number) => boolean): string | undefined {
    for (const ch of value) if (test(ch.codePointAt(0)!)) return ch;
    return undefined;
}

function codePoint(ch: string): string {
    return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/**
 * The rules every text value follows, before its own: one line (a value spread over
 * lines becomes several lines of authorized_keys, cloud-config, sshd_config or an apt
 * source), no control or invisible characters, no surrounding whitespace, not empty
 * unless allowed, and ASCII unless the value is free text.
 */
export function textProblem(value: string, opts: { ascii?: boolean; allowEmpty?: boolean } = {}): Refusal {
    const { ascii = true, allowEmpty = false } = opts;
    // An empty value shows as "" in the message; the allowed form says the rest.
    if (value === "") return allowEmpty ? undefined : "";
    if (find(value, (cp) => LINE_BREAKS.has(cp))) return "it spans several lines";
    const control = find(value, isControl);
    if (control) return `it contains the control character ${codePoint(control)}`;
    const invisible = find(value, isInvisible);
    if (invisible) return `it contains the invisible character ${codePoint(invisible)}`;
    if (value.trim() !== value) return "it has leading or trailing whitespace";
    if (ascii) {
        const other = find(value, (cp) => cp > 0x7e);
        if (other) return `it contains the non-ASCII character ${codePoint(other)} (${other})`;
    }
    return undefined;
}

/** How a value is shown in a message: JSON, with invisible characters escaped as well. */
export function quote(value: unknown): string {
    // JSON would show Infinity (from 1e999) as null.
    const text = typeof value === "number" && !Number.isFinite(value) ? String(value) : (JSON.stringify(value) ?? String(value));
    return [...text]
        .map((ch) => {
            const cp = ch.codePointAt(0)!;
            return isInvisible(cp) || isControl(cp) || cp === 0x2028 || cp === 0x2029 ? `\\u${cp.toString(16).padStart(4, "0")}` : ch;
        })
        .join("");
}

// ---------------------------------------------------------------------------
// CIDRs (firewall sources, fail2ban's ignoreip)

export interface Cidr {
    family: 4 | 6;
    /** The address as a number (32 or 128 bits). */
    address: bigint;
    prefix: number;
    /** The network in canonical form: dotted quad, or RFC 5952 IPv6 (lower case, `::`). */
    canonical: string;
}

/** DigitalOcean's Firewalls limits: a rule's sources or destinations hold at most 1000 entries. */
export const FIREWALL_RULE_SOURCES_MAX = 1000;

/** What a CIDR-list key accepts, for messages. */
export const CIDR_ALLOWED = "IPv4 or IPv6 CIDRs such as 203.0.113.0/24 or 2001:db8::/32, host bits zero";

/**
 * Parses a CIDR strictly: an address, a slash and a decimal prefix length, the address
 * being the network itself. A CIDR with host bits set (10.0.0.1/8) is refused rather
 * than rounded down: whoever wrote it meant either the one address (/32) or the whole
 * network, and guessing would open SSH wider or narrower than intended.
 */
export function parseCidr(value: string): { cidr: Cidr } | { refusal: string } {
    const text = textProblem(value);
    if (text !== undefined) return { refusal: text };
    const slash = value.split("/");
    if (slash.length === 1 && net.isIP(value)) {
        const one = net.isIPv4(value) ? 32 : 128;
        return { refusal: `it has no prefix length; for this one address write ${value}/${one}` };
    }
    if (slash.length !== 2) return { refusal: "" };
    const [addressText, prefixText] = slash;
    if (addressText.includes("%")) return { refusal: "an IPv6 zone (%…) has no meaning to a firewall" };
    const family = net.isIP(addressText);
    if (family === 0) return { refusal: "" };
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return { refusal: "the prefix length is not a plain decimal number" };
    const bits = family === 4 ? 32 : 128;
    const prefix = Number(prefixText);
    if (prefix > bits) return { refusal: `an IPv${family} prefix length is at most ${bits}` };
    const address = family === 4 ? ipv4ToBigInt(addressText) : ipv6ToBigInt(addressText);
    const hostMask = (1n << BigInt(bits - prefix)) - 1n;
    const network = address & ~hostMask;
    const canonical = family === 4 ? bigIntToIpv4(network) : bigIntToIpv6(network);
    if ((address & hostMask) !== 0n) {
        return { refusal: `host bits are set; the network is ${canonical}/${prefix}, the one address ${addressText}/${bits}` };
    }
    return { cidr: { family: family as 4 | 6, address, prefix, canonical: `${canonical}/${prefix}` } };
}

/** The CIDR validator, for any CIDR-list key. */
export const cidrProblem: Validator = (value) => {
    const parsed = parseCidr(value);
    return "refusal" in parsed ? parsed.refusal : undefined;
};

/** True for a CIDR this program accepts (see parseCidr). */
export function isCidr(value: string): boolean {
    return "cidr" in parseCidr(value);
}

/** Two spellings of one network (2001:DB8::/32, 2001:db8:0::/32) compare equal under this key. */
export function sameCidr(value: string): string {
    const parsed = parseCidr(value);
    return "cidr" in parsed ? parsed.cidr.canonical : value;
}

function ipv4ToBigInt(text: string): bigint {
    return text.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function bigIntToIpv4(value: bigint): string {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
}

function ipv6ToBigInt(text: string): bigint {
    let groups: string[];
    let tail = text;
    const extra: string[] = [];
    // An embedded IPv4 tail (::ffff:192.0.2.1) is two groups.
    const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4) {
        tail = v4[1].endsWith("::") ? v4[1] : v4[1].slice(0, -1);
        const n = ipv4ToBigInt(v4[2]);
        extra.push((n >> 16n).toString(16), (n & 0xffffn).toString(16));
    }
    if (tail.includes("::")) {
        const [head, rest] = tail.split("::");
        const h = head ? head.split(":") : [];
        const r = rest ? rest.split(":") : [];
        groups = [...h, ...Array(8 - h.length - r.length - extra.length).fill("0"), ...r, ...extra];
    } else {
        groups = [...tail.split(":"), ...extra];
    }
    return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function bigIntToIpv6(value: bigint): string {
    const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
    // RFC 5952: compress the longest run of two or more zero groups, the first if tied.
    let best = { start: -1, length: 0 };
    for (let i = 0; i < 8;) {
        if (groups[i] !== 0) {
            i++;
            continue;
        }
        let j = i;
        while (j < 8 && groups[j] === 0) j++;
        if (j - i > best.length && j - i >= 2) best = { start: i, length: j - i };
        i = j;
    }
    const hex = groups.map((g) => g.toString(16));
    if (best.start < 0) return hex.join(":");
    return `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.length).join(":")}`;
}

// ---------------------------------------------------------------------------
// The workstation user (cloud-init's users:, useradd, sudoers)

/** useradd and adduser on Debian: at most 32 characters (utmp's name field). */
export const USERNAME_MAX = 32;
export const USERNAME_ALLOWED = "a Linux user name: a lower-case letter, then up to 31 lower-case letters, digits, dashes or underscores";

/**
 * Names that exist on the image or that the stages' packages create, as users or as
 * groups (Debian 13's base-passwd; xrdp, polkitd, fail2ban's and the desktop's
 * dependencies; the default users of cloud images). cloud-init's useradd fails on a
 * name whose group exists ("group sudo exists"), and system-prep would adopt an
 * existing system account as the workstation user.
 */
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set([
    // users (base-passwd and Debian 13's base system)
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www-data",
    "backup",
    "list",
    "irc",
    "gnats",
    "nobody",
    "messagebus",
    "sshd",
    "dhcpcd",
    // groups of base-passwd and the base system
    "adm",
    "tty",
    "disk",
    "kmem",
    "dialout",
    "fax",
    "voice",
    "cdrom",
    "floppy",
    "tape",
    "sudo",
    "audio",
    "dip",
    "operator",
    "src",
    "shadow",
    "utmp",
    "video",
    "sasl",
    "plugdev",
    "staff",
    "users",
    "nogroup",
    "input",
    "kvm",
    "render",
    "sgx",
    "netdev",
    "crontab",
    "ssl-cert",
    "wheel",
    // created by the packages the stages install, or commonly present
    "xrdp",
    "polkitd",
    "avahi",
    "colord",
    "rtkit",
    "pulse",
    "pulse-access",
    "saned",
    "scanner",
    "lpadmin",
    "lightdm",
    "geoclue",
    "tss",
    "uuidd",
    "tcpdump",
    "dnsmasq",
    "ntp",
    "ntpsec",
    "statd",
    "postfix",
    "postdrop",
    "bluetooth",
    "fuse",
    "usbmux",
    "syslog",
    "lxd",
    "landscape",
    "pollinate",
    "fwupd-refresh",
    "docker",
    // default users of cloud images
    "debian",
    "ubuntu",
    "admin",
    "cloud-user",
    "ec2-user",
]);

/** Words YAML 1.1 (cloud-init's PyYAML) reads as a boolean or null when unquoted. */
const YAML_SCALARS = new Set(["yes", "no", "on", "off", "true", "false", "null", "y", "n"]);

/** Why this user name cannot be the workstation user, or undefined. Messages are complete sentences after the key. */
export function usernameProblem(value: string): { refusal: string } | { taken: string } | undefined {
    const text = textProblem(value);
    if (text !== undefined) return { refusal: text };
    if (value.length > USERNAME_MAX) return { refusal: `it has ${value.length} characters; at most ${USERNAME_MAX} are allowed` };
    if (/[A-Z]/.test(value)) return { refusal: "it has upper-case letters" };
    if (!/^[a-z][a-z0-9_-]*$/.test(value)) return { refusal: "" };
    if (RESERVED_USERNAMES.has(value) || value.startsWith("systemd-")) return { taken: "is reserved by the system" };
    if (YAML_SCALARS.has(value)) return { taken: "would be read as a boolean or null in cloud-init's user data" };
    return undefined;
}

// ---------------------------------------------------------------------------
// OpenSSH public keys (authorized_keys lines)

/** Key types sshd (OpenSSH 10, Debian 13) accepts in authorized_keys, with their blob's layout. */
const KEY_LAYOUTS: Record<string, { fields: ("string" | "mpint")[]; check?: (fields: Buffer[]) => Refusal }> = {
    "ssh-ed25519": { fields: ["string"], check: ([k]) => (k.length === 32 ? undefined : "the ed25519 key is not 32 bytes") },
    "sk-ssh-ed25519@openssh.com": { fields: ["string", "string"], check: ([k]) => (k.length === 32 ? undefined : "the ed25519 key is not 32 bytes") },
    "ssh-rsa": { fields: ["mpint", "mpint"], check: ([, n]) => rsaProblem(n) },
    "ecdsa-sha2-nistp256": { fields: ["string", "string"], check: (f) => ecdsaProblem(f, "nistp256", 65) },
    "ecdsa-sha2-nistp384": { fields: ["string", "string"], check: (f) => ecdsaProblem(f, "nistp384", 97) },
    "ecdsa-sha2-nistp521": { fields: ["string", "string"], check: (f) => ecdsaProblem(f, "nistp521", 133) },
    "sk-ecdsa-sha2-nistp256@openssh.com": { fields: ["string", "string", "string"], check: (f) => ecdsaProblem(f, "nistp256", 65) },
};
export const PUBLIC_KEY_TYPES = Object.keys(KEY_LAYOUTS);

function rsaProblem(n: Buffer): Refusal {
    const bytes = n[0] === 0 ? n.subarray(1) : n;
    const bits = bytes.length === 0 ? 0 : (bytes.length - 1) * 8 + (32 - Math.clz32(bytes[0]));
    // sshd's RequiredRSASize defaults to 1024; OpenSSH reads at most 16384-bit moduli.
    if (bits < 1024) return `the RSA key has ${bits} bits; sshd requires at least 1024`;
    if (bits > 16384) return `the RSA key has ${bits} bits; OpenSSH reads at most 16384`;
    return undefined;
}

function ecdsaProblem([curve, point]: Buffer[], expected: string, pointBytes: number): Refusal {
    if (curve.toString("latin1") !== expected) return `the key names curve ${curve.toString("latin1")}, not ${expected}`;
    if (point.length !== pointBytes || point[0] !== 4) return `the ${expected} point is malformed`;
    return undefined;
}

/** The key type and its base64 blob, or why the line is not one OpenSSH public key. */
export function parsePublicKey(value: string): { type: string; blob: string } | { refusal: string } {
    const text = textProblem(value, { ascii: false });
    if (text !== undefined) return { refusal: text };
    const [type, blob] = value.split(/[ \t]+/);
    if (type === "ssh-dss") return { refusal: "DSA keys are no longer accepted by OpenSSH" };
    if (/-cert-v01@openssh\.com$/.test(type)) return { refusal: "a certificate is not a key for authorized_keys" };
    const layout = KEY_LAYOUTS[type];
    if (!layout) return { refusal: `the key type must be one of ${PUBLIC_KEY_TYPES.join(", ")}, without options before it` };
    if (!blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob) || blob.length % 4 !== 0) return { refusal: "the key data is not base64" };
    const data = Buffer.from(blob, "base64");
    const fields: Buffer[] = [];
    let offset = 0;
    for (const kind of ["string" as const, ...layout.fields]) {
        if (offset + 4 > data.length) return { refusal: "the key data is cut short" };
        const length = data.readUInt32BE(offset);
        if (offset + 4 + length > data.length) return { refusal: "the key data is cut short" };
        const field = data.subarray(offset + 4, offset + 4 + length);
        if (kind === "mpint" && field.length > 0 && field[0] & 0x80) return { refusal: "the key data holds a negative number" };
        // The blob names its own type first: a line that claims another is a pasting mistake.
        if (fields.length === 0 && field.toString("latin1") !== type) {
            return { refusal: `the key data is of type ${field.toString("latin1")}, not ${type}` };
        }
        fields.push(field);
        offset += 4 + length;
    }
    if (offset !== data.length) return { refusal: "the key data has trailing bytes" };
    const problem = layout.check?.(fields.slice(1));
    if (problem !== undefined) return { refusal: problem };
    return { type, blob };
}

export const publicKeyProblem: Validator = (value) => {
    const parsed = parsePublicKey(value);
    return "refusal" in parsed ? parsed.refusal : undefined;
};

/** An OpenSSH public key whose blob is well formed and really of its declared type. */
export function isPublicKey(value: string): boolean {
    return "blob" in parsePublicKey(value);
}

/** The same key with another comment is the same key. */
export function samePublicKey(value: string): string {
    const parsed = parsePublicKey(value);
    return "blob" in parsed ? `${parsed.type} ${parsed.blob}` : value;
}

// ---------------------------------------------------------------------------
// DigitalOcean names and identifiers

/** DigitalOcean's tag rule (API reference, Tags): letters, numbers, colons, dashes, underscores; 255 at most. */
export const TAG_MAX = 255;
export const TAG_ALLOWED = `DigitalOcean tags: letters, digits, colons, dashes and underscores, at most ${TAG_MAX} characters`;

export const tagProblem: Validator = (value) => {
    const text = textProblem(value);
    if (text !== undefined) return text;
    if (!/^[A-Za-z0-9:_-]+$/.test(value)) return "";
    if (value.length > TAG_MAX) return `it has ${value.length} characters`;
    // The program adds workstation and environment:<stack> itself (workstation.ts, dropletTags).
    if (value !== "workstation" && sameTag(value) === "workstation") {
        return "it is the tag workstation, which the program adds, in other letters; DigitalOcean tags ignore case";
    }
    const name = value.split(":")[0];
    if (sameTag(name) === IDLE_STOP_TAG) {
        return `${IDLE_STOP_TAG} is the program's tag for idleStopMinutes; set workstation:idleStopMinutes instead`;
    }
    if (name !== "environment" && sameTag(name) === "environment") {
        return "write environment in lower case, so that it replaces the environment:<stack> tag the program adds";
    }
    return undefined;
};

/** Tags that differ only in case are one tag to DigitalOcean ("tag names are case stable"). */
export function sameTag(value: string): string {
    return value.toLowerCase();
}

export const FINGERPRINT_ALLOWED = "MD5 fingerprints (aa:bb:…, 16 pairs) or numeric key ids as DigitalOcean shows them";

export const fingerprintProblem: Validator = (value) => {
    const text = textProblem(value);
    if (text !== undefined) return text;
    if (/^[1-9][0-9]{0,15}$/.test(value) || /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/.test(value)) return undefined;
    if (/^SHA256:/i.test(value)) return "a SHA256 fingerprint; DigitalOcean names keys by MD5 (ssh-keygen -l -E md5 -f KEY.pub, without MD5:)";
    if (/^MD5:/i.test(value)) return "leave out the MD5: prefix";
    if (/^([0-9a-fA-F]{2}:){15}[0-9a-fA-F]{2}$/.test(value)) return "DigitalOcean writes fingerprints in lower case";
    return "";
};

export const EMAIL_ALLOWED = "email addresses such as ops@example.com, ASCII, at most 254 characters";

const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LOCAL_PART = new RegExp(`^${ATOM}(\\.${ATOM})*$`);
const DOMAIN_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A plain address (RFC 5321 dot-atom at a DNS name): what a mail server and DigitalOcean's alerting take. */
export const emailProblem: Validator = (value) => {
    const text = textProblem(value);
    if (text !== undefined) return text;
    const at = value.lastIndexOf("@");
    if (at < 0) return "it has no @domain";
    const local = value.slice(0, at);
    const domain = value.slice(at + 1);
    if (value.length > 254) return `it has ${value.length} characters`;
    if (!LOCAL_PART.test(local) || local.length > 64) return `the part before @ is not a plain mailbox name`;
    const labels = domain.split(".");
    if (labels.length < 2 || !labels.every((l) => DOMAIN_LABEL.test(l)) || /^[0-9]+$/.test(labels[labels.length - 1])) {
        return `${quote(domain)} is not a domain name`;
    }
    return undefined;
};

/** Domains ignore case, and mail systems in practice treat the local part alike. */
export function sameEmail(value: string): string {
    return value.toLowerCase();
}

/** Size slugs in data/do-sizes.json: the sizes this project knows (the mock cloud refuses others too). */
export const KNOWN_SIZES: readonly string[] = Object.keys(sizes().sizes);
export const SIZE_ALLOWED = `a size slug such as s-2vcpu-4gb, one of data/do-sizes.json: ${KNOWN_SIZES.join(", ")}`;

export const sizeProblem: Validator = (value) => {
    const text = textProblem(value);
    if (text !== undefined) return text;
    if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(value)) return "";
    // A size DigitalOcean does not sell fails at droplet creation, after the SSH key exists.
    if (!KNOWN_SIZES.includes(value)) return "it is not in data/do-sizes.json (add a row when DigitalOcean adds a size)";
    return undefined;
};

export const IMAGE_ALLOWED = "a Debian or Ubuntu image slug such as debian-13-x64 or ubuntu-24-04-x64 (the stages use apt), or a numeric image id";

export const imageProblem: Validator = (value) => {
    const text = textProblem(value);
    if (text !== undefined) return text;
    if (/^[1-9][0-9]{0,15}$/.test(value)) return undefined;
    if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(value)) return "";
    if (!/^(debian|ubuntu)(-|$)/.test(value)) return "the provisioning stages need apt, which only Debian and Ubuntu images have";
    // DigitalOcean's slugs name the release: debian-13-x64, ubuntu-24-04-x64.
    if (!/^(debian|ubuntu)-[0-9]/.test(value)) return "";
    return undefined;
};

/** DigitalOcean project names: at most 175 characters (API reference, Projects). */
export const PROJECT_NAME_MAX = 175;
export const PROJECT_NAME_ALLOWED = `1 to ${PROJECT_NAME_MAX} letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit`;

export const projectNameProblem: Validator = (value) => {
    const text = textProblem(value);
    if (text !== undefined) return text;
    if (value.length > PROJECT_NAME_MAX) return `it has ${value.length} characters`;
    if (!/^[A-Za-z0-9][A-Za-z0-9 _.-]*$/.test(value)) return "";
    if (/ {2}/.test(value)) return "it has two spaces in a row";
    return undefined;
};

/**
 * The droplet is named workstation-<stack> and becomes the host name, its firewall is
 * workstation-<stack>-fw, and the droplet is tagged environment:<stack>. DigitalOcean
 * takes letters, digits, dots and dashes in droplet and firewall names (API reference),
 * but no dot in a tag, and a host name label is at most 63 characters: so letters,
 * digits and dashes, at most 63 - "workstation-".length = 51.
 */
export const STACK_NAME_MAX = 51;
export const STACK_ALLOWED = `letters, digits and dashes, starting and ending with a letter or digit, at most ${STACK_NAME_MAX} characters`;

export const stackNameProblem: Validator = (value) => {
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/.test(value)) return "";
    if (value.length > STACK_NAME_MAX) return `it has ${value.length} characters`;
    return undefined;
};

/**
 * Every region slug DigitalOcean has published (its API specification's examples and
 * enums). A slug not among them fails at droplet creation, after the SSH key exists;
 * a region DigitalOcean opens later belongs here.
 */
export const KNOWN_REGIONS: readonly string[] = [
    "nyc1",
    "nyc2",
    "nyc3",
    "sfo1",
    "sfo2",
    "sfo3",
    "ams2",
    "ams3",
    "sgp1",
    "lon1",
    "fra1",
    "tor1",
    "blr1",
    "syd1",
    "atl1",
    "ric1",
];
export const REGION_ALLOWED = `a region slug such as nyc3, fra1 or sgp1: ${KNOWN_REGIONS.join(", ")}`;

export const regionProblem: Validator = (value) => {
    const text = textProblem(value);
    if (text !== undefined) return text;
    if (!/^[a-z]{3}[0-9]$/.test(value)) return "";
    if (!KNOWN_REGIONS.includes(value)) return "DigitalOcean has no such region";
    return undefined;
};
