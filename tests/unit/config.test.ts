import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { CONFIG_KEYS, ConfigError, configDefaults, isPublicKey, parseConfig } from "../../components/config";
import { registrations } from "./mocks";
import { REPO, runProgram, stackValues } from "./program";

const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb5uFbU2cK8ZlYxFdkE8rWq1R1l7x4y3PqT0o9sWm8Y alice@laptop";

describe("config validation", () => {
    it("accepts every stack file as it is", () => {
        const stacks = fs.readdirSync(REPO).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => !!s);
        assert.deepStrictEqual(stacks.sort(), ["dev", "prod", "staging"]);
        for (const stack of stacks) {
            const values = stackValues(stack);
            const present = Object.keys(values).map((k) => k.slice("workstation:".length));
            const cfg = parseConfig((k) => values[`workstation:${k}`], stack, present);
            assert.strictEqual(cfg.image, "debian-13-x64", stack);
            assert.ok(cfg.tags.some((t) => t.startsWith("owner:")), `${stack} has no owner tag`);
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
        const project = YAML.parse(fs.readFileSync(path.join(REPO, "Pulumi.yaml"), "utf8")) as { config: Record<string, { default: unknown; description?: string }> };
        const defaults = configDefaults("dev") as unknown as Record<string, unknown>;
        for (const [key, decl] of Object.entries(project.config)) {
            assert.ok((CONFIG_KEYS as readonly string[]).includes(key), `Pulumi.yaml declares unknown key ${key}`);
            assert.deepStrictEqual(decl.default, defaults[key], key);
            assert.ok(decl.description, `${key} has no description`);
        }
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
        ["a CIDR with too many bits", { allowedSshCidrs: ["10.0.0.0/33"] }, `workstation:allowedSshCidrs: "10.0.0.0/33" is not allowed; expected IPv4 or IPv6 CIDRs`],
        ["an address that is no CIDR", { allowedSshCidrs: ["my-office"] }, `workstation:allowedSshCidrs: "my-office" is not allowed`],
        ["no SSH source at all", { allowedSshCidrs: [] }, `workstation:allowedSshCidrs: [] is not allowed; expected at least one of IPv4 or IPv6 CIDRs`],
        ["root as the user", { username: "root" }, `workstation:username: "root" is reserved by the system; choose another name (default dev)`],
        ["an empty user name", { username: "" }, `workstation:username: "" is not allowed; expected a Linux user name`],
        ["a user name with a space", { username: "Dev User" }, `workstation:username: "Dev User" is not allowed; expected a Linux user name`],
        ["a malformed public key", { authorizedKeys: ["ssh-ed25519 not-base64!"] }, `workstation:authorizedKeys: "ssh-ed25519 not-base64!" is not allowed; expected OpenSSH public keys`],
        ["a key whose type lies", { authorizedKeys: [ED25519.replace("ssh-ed25519", "ssh-rsa")] }, `workstation:authorizedKeys: "ssh-rsa AAAAC3`],
        ["a malformed size slug", { size: "S 2vcpu" }, `workstation:size: "S 2vcpu" is not allowed; expected a size slug such as s-2vcpu-4gb`],
        ["a malformed region slug", { region: "new-york" }, `workstation:region: "new-york" is not allowed; expected a region slug such as nyc3, fra1 or sgp1`],
        ["a negative estimate", { stageEstimates: { desktop: -5 } }, `workstation:stageEstimates.desktop: -5 is not allowed; expected positive seconds`],
        ["an estimate for an unknown stage", { stageEstimates: { compile: 10 } }, `workstation:stageEstimates: stage "compile" is unknown; stages are wait-ready, home-volume, system-prep`],
        ["a baseline that is not a number", { baseline: { desktop: "fast" } }, `workstation:baseline.desktop: "fast" is not allowed; expected seconds, zero or more`],
        ["desktop that is not a boolean", { desktop: "yes" }, `workstation:desktop: "yes" is not allowed; expected true or false`],
        ["a tag with a space", { tags: ["team a"] }, `workstation:tags: "team a" is not allowed; expected DigitalOcean tags`],
        ["a duplicate tag", { tags: ["owner:a", "owner:a"] }, `workstation:tags: ["owner:a"] given more than once; list each tag once`],
        ["an alert address without a domain", { alertEmails: ["ops"] }, `workstation:alertEmails: "ops" is not allowed; expected email addresses`],
        ["a fingerprint of the wrong form", { existingSshKeyFingerprints: ["zz:11"] }, `workstation:existingSshKeyFingerprints: "zz:11" is not allowed; expected MD5 fingerprints`],
        ["a mirror URL that is not http(s)", { ideSources: { vscode: { repoUrl: "ftp://mirror/code" } } }, `workstation:ideSources.vscode.repoUrl: "ftp://mirror/code" is not allowed; expected an http(s) URL of an apt repository`],
        ["a source for an unknown IDE", { ideSources: { vim: { package: "vim" } } }, `workstation:ideSources: IDE "vim" is unknown; IDEs are vscode, cursor, antigravity`],
        ["an unknown source field", { ideSources: { cursor: { branch: "main" } } }, `workstation:ideSources.cursor.branch: unknown field; fields are repoUrl, suite, components, keyUrl, package, keyring, sourceName, binary`],
        ["a misspelt key", { sizee: "s-1vcpu-1gb" }, `workstation:sizee: unknown key; known keys are region, size`],
        ["an image that is no slug", { image: "Debian 13" }, `workstation:image: "Debian 13" is not allowed; expected an image slug such as debian-13-x64`],
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
                parseConfig((k) => ({ username: "root", size: "?" } as Record<string, string>)[k], "dev");
            } catch (e) {
                return e as ConfigError;
            }
            return undefined;
        })();
        assert.ok(err);
        assert.strictEqual(err.problems.length, 2);
    });
});

describe("environments", () => {
    it("calls prod, production and prod-* production, and nothing else", async () => {
        const { projectEnvironment } = await import("../../components/environment");
        assert.deepStrictEqual(["prod", "production", "prod-eu", "production-test", "dev", "staging", "staging-2", "reproduce"].map(projectEnvironment),
            ["Production", "Production", "Production", "Development", "Development", "Staging", "Staging", "Development"]);
    });
});
