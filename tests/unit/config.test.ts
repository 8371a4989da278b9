import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { CONFIG_KEYS, ConfigError, configDefaults, isPublicKey, parseConfig } from "../../components/config";
import { registrations } from "./mocks";
import { REPO, runProgram, stackValues } from "./program";
import { ED25519_KEY, keyLine, rsaKey } from "./sshKeys";

const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb5uFbU2cK8ZlYxFdkE8rWq1R1l7x4y3PqT0o9sWm8Y alice@laptop";

describe("config validation", () => {
    it("accepts every stack file as it is", () => {
        const stacks = fs
            .readdirSync(REPO)
            .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
            .filter((s): s is string => !!s);
        assert.deepStrictEqual(stacks.sort(), ["dev", "prod", "staging"]);
        for (const stack of stacks) {
            const values = stackValues(stack);
            const present = Object.keys(values).map((k) => k.slice("workstation:".length));
            const cfg = parseConfig((k) => values[`workstation:${k}`], stack, present);
            assert.strictEqual(cfg.image, "debian-13-x64", stack);
            assert.ok(
                cfg.tags.some((t) => t.startsWith("owner:")),
                `${stack} has no owner tag`,
            );
        }
    });

    it("gives prod what an operator would: narrow SSH, backups, alerts, a larger size", () => {
        const values = stackValues("prod");
        const cfg = parseConfig((k) => values[`workstation:${k}`], "prod");
        assert.ok(!cfg.allowedSshCidrs.includes("0.0.0.0/0"));
        assert.strictEqual(cfg.backups, true);
        assert.ok(cfg.alertEmails.length > 0);
        assert.strictEqual(cfg.size, "s-4vcpu-8gb");
        assert.strictEqual(cfg.stageEstimates.desktop, 180);
        assert.strictEqual(cfg.stageEstimates.report, 30, "unset estimates keep their defaults");
    });

    it("keeps Pulumi.yaml's declared defaults equal to the program's", () => {
        const project = YAML.parse(fs.readFileSync(path.join(REPO, "Pulumi.yaml"), "utf8")) as {
            config: Record<string, { default: unknown; description?: string }>;
        };
        const defaults = configDefaults("dev") as unknown as Record<string, unknown>;
        for (const [key, decl] of Object.entries(project.config)) {
            assert.ok((CONFIG_KEYS as readonly string[]).includes(key), `Pulumi.yaml declares unknown key ${key}`);
            assert.deepStrictEqual(decl.default, defaults[key], key);
            assert.ok(decl.description, `${key} has no description`);
        }
    });

    it("keeps the README's config table to the program's keys and defaults", () => {
        const readme = fs.readFileSync(path.join(REPO, "README.md"), "utf8").split("\n");
        const first = readme.findIndex((l) => l.startsWith("| `region` |"));
        const rows = new Map<string, string>();
        for (let i = first; i < readme.length && readme[i].startsWith("| `"); i++) {
            const m = /^\| `(\w+)` \| (.*?) \| /.exec(readme[i]);
            assert.ok(m, `README line ${i + 1} is not a config row: ${readme[i]}`);
            rows.set(m[1], m[2]);
        }
        assert.deepStrictEqual([...rows.keys()].sort(), [...CONFIG_KEYS].sort(), "the README's config table lists exactly the program's keys");
        // Defaults the table describes in words rather than as a value.
        const described: Record<string, string> = {
            stageEstimates: "see below",
            ideSources: "vendor repos",
            dotfiles: "none",
            projectName: "`workstation-<stack>`",
        };
        const defaults = configDefaults("<stack>") as unknown as Record<string, unknown>;
        for (const [key, cell] of rows) {
            if (key in described) {
                assert.strictEqual(cell, described[key], key);
                continue;
            }
            const m = /^`(.*)`$/.exec(cell);
            assert.ok(m, `${key}: the README's default ${cell} is not one value in backticks`);
            assert.deepStrictEqual(YAML.parse(m[1]), defaults[key], `${key}: README says ${cell}`);
        }
        assert.strictEqual(defaults.projectName, "workstation-<stack>");
    });

    it("installs the Antigravity IDE by default: antigravity-ide first, the old name after it", () => {
        const cfg = parseConfig(() => undefined, "dev");
        assert.deepStrictEqual(cfg.ideSources.antigravity.candidates, [
            { package: "antigravity-ide", command: "antigravity-ide" },
            { package: "antigravity", command: "antigravity" },
        ]);
    });

    it("keeps the other fields of an IDE source when a mirror overrides some, candidates included", () => {
        const raw: Record<string, string> = {
            ideSources: JSON.stringify({
                antigravity: { repoUrl: "https://mirror.example.com/ag", candidates: [{ package: "antigravity-ide-beta", command: "agy" }] },
            }),
        };
        const cfg = parseConfig((k) => raw[k], "dev");
        assert.deepStrictEqual(cfg.ideSources.antigravity, {
            ...configDefaults("dev").ideSources.antigravity,
            repoUrl: "https://mirror.example.com/ag",
            candidates: [{ package: "antigravity-ide-beta", command: "agy" }],
        });
        assert.deepStrictEqual(cfg.ideSources.vscode, configDefaults("dev").ideSources.vscode);
    });

    it("recognises real public keys and refuses a blob of another type", () => {
        assert.ok(isPublicKey(ED25519));
        assert.ok(!isPublicKey(ED25519.replace("ssh-ed25519", "ssh-rsa")));
    });
});

describe("bad config is refused before anything is created", () => {
    const cases: [string, Record<string, unknown>, string][] = [
        ["an unknown IDE", { ides: ["vscode", "emacs"] }, `workstation:ides: "emacs" is not allowed; expected one of vscode, cursor, antigravity`],
        ["a duplicate IDE", { ides: ["cursor", "cursor"] }, `workstation:ides: ["cursor"] given more than once; list each IDE once`],
        ["ides that are not a list", { ides: "vscode" }, `workstation:ides: "vscode" is not allowed; expected a list of distinct IDEs`],
        [
            "a CIDR with too many bits",
            { allowedSshCidrs: ["10.0.0.0/33"] },
            `workstation:allowedSshCidrs: "10.0.0.0/33" is not allowed: an IPv4 prefix length is at most 32; expected IPv4 or IPv6 CIDRs`,
        ],
        ["an address that is no CIDR", { allowedSshCidrs: ["my-office"] }, `workstation:allowedSshCidrs: "my-office" is not allowed`],
        [
            "a never-ban entry that is an address without a prefix",
            { sshNeverBanCidrs: ["203.0.113.7"] },
            `workstation:sshNeverBanCidrs: "203.0.113.7" is not allowed: it has no prefix length; for this one address write 203.0.113.7/32; expected IPv4 or IPv6 CIDRs such as 203.0.113.0/24 or 2001:db8::/32, host bits zero`,
        ],
        ["a never-ban IPv6 CIDR with too many bits", { sshNeverBanCidrs: ["2001:db8::/129"] }, `workstation:sshNeverBanCidrs: "2001:db8::/129" is not allowed`],
        ["no SSH source at all", { allowedSshCidrs: [] }, `workstation:allowedSshCidrs: [] is not allowed; expected at least one of IPv4 or IPv6 CIDRs`],
        ["root as the user", { username: "root" }, `workstation:username: "root" is reserved by the system; choose another name (default dev)`],
        ["an empty user name", { username: "" }, `workstation:username: "" is not allowed; expected a Linux user name`],
        ["a user name with a space", { username: "dev user" }, `workstation:username: "dev user" is not allowed; expected a Linux user name`],
        [
            "a malformed public key",
            { authorizedKeys: ["ssh-ed25519 not-base64!"] },
            `workstation:authorizedKeys: "ssh-ed25519 not-base64!" is not allowed: the key data is not base64; expected OpenSSH public keys`,
        ],
        ["a key whose type lies", { authorizedKeys: [ED25519.replace("ssh-ed25519", "ssh-rsa")] }, `workstation:authorizedKeys: "ssh-rsa AAAAC3`],
        ["a malformed size slug", { size: "S 2vcpu" }, `workstation:size: "S 2vcpu" is not allowed; expected a size slug such as s-2vcpu-4gb`],
        ["a malformed region slug", { region: "new-york" }, `workstation:region: "new-york" is not allowed; expected a region slug such as nyc3, fra1 or sgp1`],
        ["a negative estimate", { stageEstimates: { desktop: -5 } }, `workstation:stageEstimates.desktop: -5 is not allowed; expected positive seconds`],
        [
            "an estimate for an unknown stage",
            { stageEstimates: { compile: 10 } },
            `workstation:stageEstimates: stage "compile" is unknown; stages are wait-ready, home-volume, system-prep`,
        ],
        [
            "a baseline that is not a number",
            { baseline: { desktop: "fast" } },
            `workstation:baseline.desktop: "fast" is not allowed; expected seconds, zero or more`,
        ],
        ["desktop that is not a boolean", { desktop: "yes" }, `workstation:desktop: "yes" is not allowed; expected true or false`],
        ["a tag with a space", { tags: ["team a"] }, `workstation:tags: "team a" is not allowed; expected DigitalOcean tags`],
        ["a duplicate tag", { tags: ["owner:a", "owner:a"] }, `workstation:tags: ["owner:a"] given more than once; list each tag once`],
        [
            "an alert address without a domain",
            { alertEmails: ["ops"] },
            `workstation:alertEmails: "ops" is not allowed: it has no @domain; expected email addresses`,
        ],
        [
            "a fingerprint of the wrong form",
            { existingSshKeyFingerprints: ["zz:11"] },
            `workstation:existingSshKeyFingerprints: "zz:11" is not allowed; expected MD5 fingerprints`,
        ],
        [
            "a mirror URL that is not http(s)",
            { ideSources: { vscode: { repoUrl: "ftp://mirror/code" } } },
            `workstation:ideSources.vscode.repoUrl: "ftp://mirror/code" is not allowed; expected an http(s) URL of an apt repository`,
        ],
        [
            "a source for an unknown IDE",
            { ideSources: { vim: { repoUrl: "https://mirror.example.com/vim" } } },
            `workstation:ideSources: IDE "vim" is unknown; IDEs are vscode, cursor, antigravity`,
        ],
        [
            "an unknown source field",
            { ideSources: { cursor: { branch: "main" } } },
            `workstation:ideSources.cursor.branch: unknown field; fields are repoUrl, suite, components, keyUrl, keyring, sourceName, candidates`,
        ],
        [
            "ideSources that are a list",
            { ideSources: ["vscode"] },
            `workstation:ideSources: ["vscode"] is not allowed; expected an object keyed by vscode, cursor, antigravity, each with some of repoUrl, suite, components, keyUrl, keyring, sourceName, candidates`,
        ],
        [
            "one IDE's source that is a string",
            { ideSources: { vscode: "mirror" } },
            `workstation:ideSources.vscode: "mirror" is not allowed; expected an object with some of repoUrl`,
        ],
        [
            "the old single package field",
            { ideSources: { antigravity: { package: "antigravity" } } },
            `workstation:ideSources.antigravity.package: replaced by candidates, an ordered list of packages and their commands, e.g. [{"package":"antigravity-ide","command":"antigravity-ide"},{"package":"antigravity","command":"antigravity"}]`,
        ],
        ["the old binary field", { ideSources: { vscode: { binary: "code" } } }, `workstation:ideSources.vscode.binary: replaced by candidates`],
        [
            "candidates that are not a list",
            { ideSources: { antigravity: { candidates: "antigravity-ide" } } },
            `workstation:ideSources.antigravity.candidates: "antigravity-ide" is not allowed; expected a non-empty list of {"package": a Debian package name, "command": the command it installs}, most preferred first`,
        ],
        [
            "an empty candidate list",
            { ideSources: { antigravity: { candidates: [] } } },
            `workstation:ideSources.antigravity.candidates: [] is not allowed; expected a non-empty list of`,
        ],
        [
            "a candidate that is a bare name",
            { ideSources: { antigravity: { candidates: ["antigravity-ide"] } } },
            `workstation:ideSources.antigravity.candidates[0]: "antigravity-ide" is not allowed; expected a non-empty list of`,
        ],
        [
            "a candidate without its command",
            { ideSources: { antigravity: { candidates: [{ package: "antigravity-ide" }] } } },
            `workstation:ideSources.antigravity.candidates[0].command: missing; a candidate has package and command`,
        ],
        [
            "a candidate package in upper case",
            { ideSources: { antigravity: { candidates: [{ package: "Antigravity", command: "antigravity" }] } } },
            `workstation:ideSources.antigravity.candidates[0].package: "Antigravity" is not allowed; expected a Debian package name (lower case letters, digits, + - ., at least 2 characters)`,
        ],
        [
            "a candidate command with a path",
            { ideSources: { antigravity: { candidates: [{ package: "antigravity-ide", command: "/usr/bin/antigravity-ide" }] } } },
            `workstation:ideSources.antigravity.candidates[0].command: "/usr/bin/antigravity-ide" is not allowed; expected a command name (letters, digits, _ . + -), no path`,
        ],
        [
            "a candidate with an unknown field",
            { ideSources: { antigravity: { candidates: [{ package: "antigravity-ide", command: "antigravity-ide", version: "1" }] } } },
            `workstation:ideSources.antigravity.candidates[0].version: unknown field; a candidate has package and command`,
        ],
        [
            "the same candidate twice",
            {
                ideSources: {
                    antigravity: {
                        candidates: [
                            { package: "antigravity", command: "antigravity" },
                            { package: "antigravity", command: "agy" },
                        ],
                    },
                },
            },
            `workstation:ideSources.antigravity.candidates: package ["antigravity"] given more than once; list each candidate once`,
        ],
        ["a misspelt key", { sizee: "s-1vcpu-1gb" }, `workstation:sizee: unknown key; known keys are region, size`],
        ["a user name spread over two lines", { username: "dev\nroot" }, `workstation:username: "dev\\nroot" is not allowed: it spans several lines`],
        [
            "a CIDR with host bits set",
            { allowedSshCidrs: ["203.0.113.7/24"] },
            `workstation:allowedSshCidrs: "203.0.113.7/24" is not allowed: host bits are set`,
        ],
        ["one SSH source listed twice", { allowedSshCidrs: ["::/0", "0:0::/0"] }, `workstation:allowedSshCidrs: "::/0" and "0:0::/0" are the same network`],
        ["an authorized key with a second one on the next line", { authorizedKeys: [`${ED25519}\n${ED25519}`] }, `workstation:authorizedKeys: "${ED25519}\\n`],
        ["a DSA key", { authorizedKeys: [keyLine("ssh-dss", [Buffer.alloc(20)])] }, "is not allowed: DSA keys are no longer accepted by OpenSSH"],
        [
            "a SHA256 fingerprint",
            { existingSshKeyFingerprints: ["SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"] },
            "is not allowed: a SHA256 fingerprint",
        ],
        [
            "a fractional stage limit",
            { stageTimeouts: { desktop: 2.5 } },
            "workstation:stageTimeouts.desktop: 2.5 is not allowed; expected whole seconds, 1 to 86400",
        ],
        ["a stage limit for an unknown stage", { stageTimeouts: { compile: 10 } }, `workstation:stageTimeouts: stage "compile" is unknown`],
        ["one tag in two cases", { tags: ["Owner:a", "owner:a"] }, `workstation:tags: "Owner:a" and "owner:a" are the same tag`],
        ["a tag over 255 characters", { tags: ["x".repeat(256)] }, "is not allowed: it has 256 characters"],
        [
            "the program's idle-stop tag",
            { tags: ["Idle-Stop:off"] },
            `workstation:tags: "Idle-Stop:off" is not allowed: idle-stop is the program's tag for idleStopMinutes; set workstation:idleStopMinutes instead`,
        ],
        ["a size not in the table", { size: "s-3vcpu-5gb" }, `workstation:size: "s-3vcpu-5gb" is not allowed: it is not in data/do-sizes.json`],
        ["an image without apt", { image: "fedora-42-x64" }, `workstation:image: "fedora-42-x64" is not allowed: the provisioning stages need apt`],
        ["a group name as the user", { username: "sudo" }, `workstation:username: "sudo" is reserved by the system`],
        ["a project name over 175 characters", { projectName: "p".repeat(176) }, "is not allowed: it has 176 characters"],
        ["an estimate over a day", { stageEstimates: { desktop: 90000 } }, "workstation:stageEstimates.desktop: 90000 is not allowed"],
        [
            "one alert address twice",
            { alertEmails: ["ops@example.com", "OPS@example.com"] },
            `workstation:alertEmails: "ops@example.com" and "OPS@example.com" are the same address`,
        ],
        [
            "an image that is no slug",
            { image: "Debian 13" },
            `workstation:image: "Debian 13" is not allowed; expected a Debian or Ubuntu image slug such as debian-13-x64`,
        ],
    ];

    for (const [what, overrides, message] of cases) {
        it(`refuses ${what}`, async () => {
            await assert.rejects(runProgram(stackValues("dev", overrides)), (err: unknown) => {
                assert.ok(err instanceof ConfigError, `not a ConfigError: ${err}`);
                assert.ok(err.message.includes(message), `message lacks ${JSON.stringify(message)}:\n${err.message}`);
                return true;
            });
            assert.strictEqual(registrations.length, 0, `registered: ${registrations.map((r) => r.name).join(", ")}`);
        });
    }

    it("reports every problem at once", () => {
        const err = (() => {
            try {
                parseConfig((k) => (({ username: "root", size: "?" }) as Record<string, string>)[k], "dev");
            } catch (e) {
                return e as ConfigError;
            }
            return undefined;
        })();
        assert.ok(err);
        assert.strictEqual(err.problems.length, 2);
    });
});

/** The problems parseConfig reports for the dev stack with these overrides (none: []). */
function problemsOf(overrides: Record<string, unknown>, stack = "dev"): string[] {
    const values = stackValues("dev", overrides);
    const present = Object.keys(values).map((k) => k.slice("workstation:".length));
    try {
        parseConfig((k) => values[`workstation:${k}`], stack, present);
        return [];
    } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
    }
}

// What each key allows, as the messages say it (spelt out here so that a change shows).
const USER = "a Linux user name: a lower-case letter, then up to 31 lower-case letters, digits, dashes or underscores";
const CIDRS = "IPv4 or IPv6 CIDRs such as 203.0.113.0/24 or 2001:db8::/32, host bits zero";
const KEYS = `OpenSSH public keys ("ssh-ed25519 AAAA… comment")`;
const PRINTS = "MD5 fingerprints (aa:bb:…, 16 pairs) or numeric key ids as DigitalOcean shows them";
const TAGS = "DigitalOcean tags: letters, digits, colons, dashes and underscores, at most 255 characters";
const EMAILS = "email addresses such as ops@example.com, ASCII, at most 254 characters";
const PROJECT = "1 to 175 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit";
const IMAGE = "a Debian or Ubuntu image slug such as debian-13-x64 or ubuntu-24-04-x64 (the stages use apt), or a numeric image id";
const REGION = "a region slug such as nyc3, fra1 or sgp1: nyc1, nyc2, nyc3, sfo1, sfo2, sfo3, ams2, ams3, sgp1, lon1, fra1, tor1, blr1, syd1, atl1, ric1";
const SIZES = `a size slug such as s-2vcpu-4gb, one of data/do-sizes.json: ${Object.keys(
    (JSON.parse(fs.readFileSync(path.join(REPO, "data", "do-sizes.json"), "utf8")) as { sizes: object }).sizes,
).join(", ")}`;
const STACK = "letters, digits and dashes, starting and ending with a letter or digit, at most 51 characters";
const RUN = "up to 64 letters, digits, dots, colons, dashes or underscores";
const FP = "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:aa";
const ED_BLOB = ED25519_KEY.split(" ")[1];

describe("each rule's message, exactly", () => {
    const cases: [string, Record<string, unknown>, string[]][] = [
        // One line, visible characters, no surrounding space: for every value.
        [
            "a user name over two lines (cloud-init YAML, sudoers)",
            { username: "dev\nroot" },
            [`workstation:username: "dev\\nroot" is not allowed: it spans several lines; expected ${USER}`],
        ],
        [
            "a public key with a second key after a line break (authorized_keys)",
            { authorizedKeys: [`${ED25519_KEY}\nssh-ed25519 ${ED_BLOB} intruder`] },
            [`workstation:authorizedKeys: "${ED25519_KEY}\\nssh-ed25519 ${ED_BLOB} intruder" is not allowed: it spans several lines; expected ${KEYS}`],
        ],
        [
            "a tag ending in a carriage return",
            { tags: ["owner:alice\r"] },
            [`workstation:tags: "owner:alice\\r" is not allowed: it spans several lines; expected ${TAGS}`],
        ],
        [
            "an address with a Unicode line separator",
            { alertEmails: ["ops@example.com\u2028"] },
            [`workstation:alertEmails: "ops@example.com\\u2028" is not allowed: it spans several lines; expected ${EMAILS}`],
        ],
        [
            "a project name with a tab",
            { projectName: "team\tdesk" },
            [`workstation:projectName: "team\\tdesk" is not allowed: it contains the control character U+0009; expected ${PROJECT}`],
        ],
        [
            "a region with a leading space",
            { region: " nyc3" },
            [`workstation:region: " nyc3" is not allowed: it has leading or trailing whitespace; expected ${REGION}`],
        ],
        [
            "a tag with a zero-width space",
            { tags: ["owner:\u200balice"] },
            [`workstation:tags: "owner:\\u200balice" is not allowed: it contains the invisible character U+200B; expected ${TAGS}`],
        ],
        [
            "a project name with an accent",
            { projectName: "café" },
            [`workstation:projectName: "café" is not allowed: it contains the non-ASCII character U+00E9 (é); expected ${PROJECT}`],
        ],
        ["an empty region", { region: "" }, [`workstation:region: "" is not allowed; expected ${REGION}`]],
        [
            "a region DigitalOcean does not have",
            { region: "nyc4" },
            [`workstation:region: "nyc4" is not allowed: DigitalOcean has no such region; expected ${REGION}`],
        ],
        [
            "a provisioning run over two lines",
            { provisioningRun: "2\n" },
            [`workstation:provisioningRun: "2\\n" is not allowed: it spans several lines; expected ${RUN}`],
        ],

        // The user (useradd, adduser's NAME_REGEX, Debian 13's accounts, cloud-init's YAML).
        [
            "a user name of 33 characters",
            { username: "a".repeat(33) },
            [`workstation:username: "${"a".repeat(33)}" is not allowed: it has 33 characters; at most 32 are allowed; expected ${USER}`],
        ],
        ["a user name with upper case", { username: "Dev" }, [`workstation:username: "Dev" is not allowed: it has upper-case letters; expected ${USER}`]],
        ["a user name starting with an underscore", { username: "_dev" }, [`workstation:username: "_dev" is not allowed; expected ${USER}`]],
        ["a user name starting with a digit", { username: "1dev" }, [`workstation:username: "1dev" is not allowed; expected ${USER}`]],
        ["the sudo group as the user", { username: "sudo" }, [`workstation:username: "sudo" is reserved by the system; choose another name (default dev)`]],
        ["the users group as the user", { username: "users" }, [`workstation:username: "users" is reserved by the system; choose another name (default dev)`]],
        [
            "a systemd account as the user",
            { username: "systemd-network" },
            [`workstation:username: "systemd-network" is reserved by the system; choose another name (default dev)`],
        ],
        [
            "a YAML boolean as the user",
            { username: "yes" },
            [`workstation:username: "yes" would be read as a boolean or null in cloud-init's user data; choose another name (default dev)`],
        ],

        // SSH sources (the firewall).
        [
            "a CIDR with host bits set",
            { allowedSshCidrs: ["203.0.113.7/24"] },
            [
                `workstation:allowedSshCidrs: "203.0.113.7/24" is not allowed: host bits are set; the network is 203.0.113.0/24, the one address 203.0.113.7/32; expected ${CIDRS}`,
            ],
        ],
        [
            "an IPv6 CIDR with host bits set",
            { allowedSshCidrs: ["2001:db8::1/32"] },
            [
                `workstation:allowedSshCidrs: "2001:db8::1/32" is not allowed: host bits are set; the network is 2001:db8::/32, the one address 2001:db8::1/128; expected ${CIDRS}`,
            ],
        ],
        [
            "an address without a prefix length",
            { allowedSshCidrs: ["203.0.113.7"] },
            [
                `workstation:allowedSshCidrs: "203.0.113.7" is not allowed: it has no prefix length; for this one address write 203.0.113.7/32; expected ${CIDRS}`,
            ],
        ],
        [
            "an IPv6 prefix over 128",
            { allowedSshCidrs: ["::/129"] },
            [`workstation:allowedSshCidrs: "::/129" is not allowed: an IPv6 prefix length is at most 128; expected ${CIDRS}`],
        ],
        [
            "a zero-padded prefix",
            { allowedSshCidrs: ["10.0.0.0/08"] },
            [`workstation:allowedSshCidrs: "10.0.0.0/08" is not allowed: the prefix length is not a plain decimal number; expected ${CIDRS}`],
        ],
        [
            "an IPv6 zone",
            { allowedSshCidrs: ["fe80::%eth0/64"] },
            [`workstation:allowedSshCidrs: "fe80::%eth0/64" is not allowed: an IPv6 zone (%…) has no meaning to a firewall; expected ${CIDRS}`],
        ],
        ["a zero-padded IPv4 address", { allowedSshCidrs: ["010.0.0.0/8"] }, [`workstation:allowedSshCidrs: "010.0.0.0/8" is not allowed; expected ${CIDRS}`]],
        [
            "more SSH sources than a firewall rule takes",
            { allowedSshCidrs: Array.from({ length: 1001 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`) },
            ["workstation:allowedSshCidrs: 1001 entries are too many; expected at most 1000 (a DigitalOcean firewall rule takes at most 1000 sources)"],
        ],
        [
            "a CIDR given twice",
            { allowedSshCidrs: ["203.0.113.0/24", "203.0.113.0/24"] },
            [`workstation:allowedSshCidrs: ["203.0.113.0/24"] given more than once; list each network once`],
        ],
        [
            "one network spelt two ways",
            { allowedSshCidrs: ["2001:db8::/32", "2001:DB8:0::/32"] },
            [`workstation:allowedSshCidrs: "2001:db8::/32" and "2001:DB8:0::/32" are the same network; list each network once`],
        ],

        // Public keys (sshd).
        [
            "an RSA key under 1024 bits",
            { authorizedKeys: [rsaKey(768)] },
            [`workstation:authorizedKeys: "${rsaKey(768)}" is not allowed: the RSA key has 768 bits; sshd requires at least 1024; expected ${KEYS}`],
        ],
        [
            "a DSA key",
            { authorizedKeys: [keyLine("ssh-dss", [Buffer.alloc(20)])] },
            [
                `workstation:authorizedKeys: "${keyLine("ssh-dss", [Buffer.alloc(20)])}" is not allowed: DSA keys are no longer accepted by OpenSSH; expected ${KEYS}`,
            ],
        ],
        [
            "a key with options before it",
            { authorizedKeys: [`restrict ${ED25519_KEY}`] },
            [
                `workstation:authorizedKeys: "restrict ${ED25519_KEY}" is not allowed: the key type must be one of ssh-ed25519, sk-ssh-ed25519@openssh.com, ` +
                    `ssh-rsa, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, sk-ecdsa-sha2-nistp256@openssh.com, without options before it; expected ${KEYS}`,
            ],
        ],
        [
            "a cut-off key",
            { authorizedKeys: [`ssh-ed25519 ${ED_BLOB.slice(0, 40)} me`] },
            [`workstation:authorizedKeys: "ssh-ed25519 ${ED_BLOB.slice(0, 40)} me" is not allowed: the key data is cut short; expected ${KEYS}`],
        ],
        [
            "one key twice under two comments",
            { authorizedKeys: [ED25519_KEY, ED25519_KEY.replace("test@host", "laptop")] },
            [
                `workstation:authorizedKeys: "${ED25519_KEY}" and "${ED25519_KEY.replace("test@host", "laptop")}" are the same key (one key blob, whatever the comment); list each key once`,
            ],
        ],

        // Keys already in DigitalOcean.
        [
            "a SHA256 fingerprint",
            { existingSshKeyFingerprints: ["SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"] },
            [
                `workstation:existingSshKeyFingerprints: "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8" is not allowed: a SHA256 fingerprint; DigitalOcean names keys by MD5 (ssh-keygen -l -E md5 -f KEY.pub, without MD5:); expected ${PRINTS}`,
            ],
        ],
        [
            "an MD5: prefix",
            { existingSshKeyFingerprints: [`MD5:${FP}`] },
            [`workstation:existingSshKeyFingerprints: "MD5:${FP}" is not allowed: leave out the MD5: prefix; expected ${PRINTS}`],
        ],
        [
            "an upper-case fingerprint",
            { existingSshKeyFingerprints: [FP.toUpperCase()] },
            [
                `workstation:existingSshKeyFingerprints: "${FP.toUpperCase()}" is not allowed: DigitalOcean writes fingerprints in lower case; expected ${PRINTS}`,
            ],
        ],
        [
            "a zero-padded key id",
            { existingSshKeyFingerprints: ["0512189"] },
            [`workstation:existingSshKeyFingerprints: "0512189" is not allowed; expected ${PRINTS}`],
        ],
        [
            "a fingerprint given twice",
            { existingSshKeyFingerprints: [FP, "512189", FP] },
            [`workstation:existingSshKeyFingerprints: ["${FP}"] given more than once; list each key once`],
        ],

        // Tags (DigitalOcean: letters, numbers, colons, dashes, underscores; 255; case-insensitive).
        [
            "a tag of 256 characters",
            { tags: ["a".repeat(256)] },
            [`workstation:tags: "${"a".repeat(256)}" is not allowed: it has 256 characters; expected ${TAGS}`],
        ],
        ["a tag with a dot", { tags: ["owner:a.b"] }, [`workstation:tags: "owner:a.b" is not allowed; expected ${TAGS}`]],
        [
            "one tag in two cases",
            { tags: ["Owner:Alice", "owner:alice"] },
            [`workstation:tags: "Owner:Alice" and "owner:alice" are the same tag (DigitalOcean tags ignore case); list each tag once`],
        ],
        [
            "the program's own tag in capitals",
            { tags: ["Workstation"] },
            [
                `workstation:tags: "Workstation" is not allowed: it is the tag workstation, which the program adds, in other letters; DigitalOcean tags ignore case; expected ${TAGS}`,
            ],
        ],
        [
            "an environment tag in capitals",
            { tags: ["Environment:prod"] },
            [
                `workstation:tags: "Environment:prod" is not allowed: write environment in lower case, so that it replaces the environment:<stack> tag the program adds; expected ${TAGS}`,
            ],
        ],

        // Alert addresses.
        [
            "an address at a bare host name",
            { alertEmails: ["ops@localhost"] },
            [`workstation:alertEmails: "ops@localhost" is not allowed: "localhost" is not a domain name; expected ${EMAILS}`],
        ],
        [
            "an address with two dots in a row",
            { alertEmails: ["a..b@example.com"] },
            [`workstation:alertEmails: "a..b@example.com" is not allowed: the part before @ is not a plain mailbox name; expected ${EMAILS}`],
        ],
        [
            "two addresses in one string",
            { alertEmails: ["ops@example.com, dev@example.com"] },
            [`workstation:alertEmails: "ops@example.com, dev@example.com" is not allowed: the part before @ is not a plain mailbox name; expected ${EMAILS}`],
        ],
        [
            "an address with an underscore in the domain",
            { alertEmails: ["ops@exa_mple.com"] },
            [`workstation:alertEmails: "ops@exa_mple.com" is not allowed: "exa_mple.com" is not a domain name; expected ${EMAILS}`],
        ],
        [
            "one address in two cases",
            { alertEmails: ["Ops@Example.com", "ops@example.com"] },
            [`workstation:alertEmails: "Ops@Example.com" and "ops@example.com" are the same address (addresses ignore case); list each address once`],
        ],

        // Droplet size, image, project, stage numbers, booleans.
        [
            "a size DigitalOcean does not sell",
            { size: "s-3vcpu-5gb" },
            [`workstation:size: "s-3vcpu-5gb" is not allowed: it is not in data/do-sizes.json (add a row when DigitalOcean adds a size); expected ${SIZES}`],
        ],
        [
            "an image without apt",
            { image: "fedora-42-x64" },
            [
                `workstation:image: "fedora-42-x64" is not allowed: the provisioning stages need apt, which only Debian and Ubuntu images have; expected ${IMAGE}`,
            ],
        ],
        ["an image slug without a release", { image: "debian" }, [`workstation:image: "debian" is not allowed; expected ${IMAGE}`]],
        [
            "a project name over 175 characters",
            { projectName: "p".repeat(176) },
            [`workstation:projectName: "${"p".repeat(176)}" is not allowed: it has 176 characters; expected ${PROJECT}`],
        ],
        [
            "a project name with two spaces in a row",
            { projectName: "my  desk" },
            [`workstation:projectName: "my  desk" is not allowed: it has two spaces in a row; expected ${PROJECT}`],
        ],
        [
            "an estimate of infinity",
            { stageEstimates: `{"desktop": 1e999}` },
            ["workstation:stageEstimates.desktop: Infinity is not allowed; expected positive seconds, at most 86400 (a day)"],
        ],
        [
            "an estimate over a day",
            { stageEstimates: { desktop: 90000 } },
            ["workstation:stageEstimates.desktop: 90000 is not allowed; expected positive seconds, at most 86400 (a day)"],
        ],
        [
            "an estimate given as a string",
            { stageEstimates: { desktop: "90" } },
            [`workstation:stageEstimates.desktop: "90" is not allowed; expected positive seconds, at most 86400 (a day)`],
        ],
        [
            "a negative baseline",
            { baseline: { verify: -1 } },
            ["workstation:baseline.verify: -1 is not allowed; expected seconds, zero or more, at most 86400 (a day)"],
        ],
        ["backups as True", { backups: "True" }, [`workstation:backups: "True" is not allowed; expected true or false`]],
        ["desktop as 1", { desktop: "1" }, [`workstation:desktop: "1" is not allowed; expected true or false`]],
    ];

    for (const [what, overrides, expected] of cases) {
        it(`refuses ${what}`, () => {
            assert.deepStrictEqual(problemsOf(overrides), expected);
        });
    }

    it("refuses a stack whose droplet name DigitalOcean would refuse", () => {
        assert.deepStrictEqual(problemsOf({}, "my_desk"), [
            `stack "my_desk" is not allowed; it names the droplet (workstation-<stack>, its host name) and tags it environment:<stack>, so expected ${STACK}`,
        ]);
        assert.deepStrictEqual(problemsOf({}, "s".repeat(52)), [
            `stack "${"s".repeat(52)}" is not allowed: it has 52 characters; it names the droplet (workstation-<stack>, its host name) and tags it environment:<stack>, so expected ${STACK}`,
        ]);
        // A dot is fine in a host name but not in the environment:<stack> tag.
        assert.deepStrictEqual(problemsOf({}, "prod.eu"), [
            `stack "prod.eu" is not allowed; it names the droplet (workstation-<stack>, its host name) and tags it environment:<stack>, so expected ${STACK}`,
        ]);
        assert.deepStrictEqual(problemsOf({}, "s".repeat(51)), []);
        assert.deepStrictEqual(problemsOf({}, "prod-eu-alice"), []);
    });

    it("accepts the edge of every rule", () => {
        assert.deepStrictEqual(
            problemsOf({
                username: "a".repeat(32),
                allowedSshCidrs: ["203.0.113.7/32", "2001:db8::1/128", "10.0.0.0/8", "::ffff:192.0.2.0/120"],
                authorizedKeys: [
                    ED25519_KEY,
                    rsaKey(1024),
                    keyLine("ecdsa-sha2-nistp256", [Buffer.from("nistp256"), Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)])], "Zoë"),
                ],
                existingSshKeyFingerprints: [FP, "512189"],
                tags: ["owner:platform-team", "t".repeat(255), "environment:qa", "workstation"],
                alertEmails: ["first.last+alerts@mail.example.co.uk", "o'brien@example.com"],
                projectName: "P".repeat(175),
                image: "ubuntu-24-04-x64",
                stageEstimates: { desktop: 86400, verify: 0.5 },
                baseline: { verify: 0 },
                provisioningRun: "",
            }),
            [],
        );
        assert.deepStrictEqual(problemsOf({ image: "123456789" }), []);
        assert.deepStrictEqual(problemsOf({ allowedSshCidrs: Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`) }), []);
    });
});

describe("environments", () => {
    it("calls prod, production and prod-* production, and nothing else", async () => {
        const { projectEnvironment } = await import("../../components/environment");
        assert.deepStrictEqual(["prod", "production", "prod-eu", "production-test", "dev", "staging", "staging-2", "reproduce"].map(projectEnvironment), [
            "Production",
            "Production",
            "Production",
            "Development",
            "Development",
            "Staging",
            "Staging",
            "Development",
        ]);
    });
});
