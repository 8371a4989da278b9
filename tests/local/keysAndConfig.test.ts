import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { utils } from "ssh2";
import { generateEd25519, generatePassword, md5Fingerprint } from "../../tools/local/keys";
import { configEnv, encodeConfigValue, loadStackConfig } from "../../tools/local/stackConfig";

describe("tools/local/keys", () => {
    it("generates an ED25519 key whose OpenSSH private key ssh2 parses and whose public half matches", () => {
        const key = generateEd25519();
        const priv = utils.parseKey(key.privateKeyOpenssh);
        assert.ok(!(priv instanceof Error), String(priv));
        const parsed = Array.isArray(priv) ? priv[0] : priv;
        assert.strictEqual(parsed.type, "ssh-ed25519");
        assert.strictEqual(parsed.getPublicSSH().toString("base64"), key.publicKeyOpenssh.split(" ")[1].trim());
        const data = Buffer.from("sign me");
        const sig = parsed.sign(data);
        const pub = utils.parseKey(key.publicKeyOpenssh);
        assert.ok(!(pub instanceof Error));
        assert.strictEqual((Array.isArray(pub) ? pub[0] : pub).verify(data, sig as Buffer), true);
        assert.match(key.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
        assert.match(key.publicKeyFingerprintMd5, /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
        assert.match(key.publicKeyFingerprintSha256, /^SHA256:[A-Za-z0-9+/]{43}$/);
    });

    it("computes the fingerprints that ssh-keygen prints for the same key", function () {
        const key = generateEd25519();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fp-"));
        try {
            const file = path.join(dir, "k.pub");
            fs.writeFileSync(file, key.publicKeyOpenssh);
            const md5 = execFileSync("ssh-keygen", ["-l", "-E", "md5", "-f", file], { encoding: "utf8" });
            const sha = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", file], { encoding: "utf8" });
            assert.strictEqual(md5.split(" ")[1], `MD5:${md5Fingerprint(key.publicKeyOpenssh)}`);
            assert.strictEqual(sha.split(" ")[1], key.publicKeyFingerprintSha256);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("makes passwords of the asked length from the asked classes", () => {
        for (let i = 0; i < 50; i++) {
            const pw = generatePassword({ length: 24, special: false });
            assert.strictEqual(pw.length, 24);
            assert.match(pw, /^[A-Za-z0-9]+$/);
        }
        const withMins = generatePassword({ length: 8, special: true, overrideSpecial: "#", minSpecial: 3, minNumeric: 2 });
        assert.strictEqual(withMins.replace(/[^#]/g, "").length >= 3, true);
        assert.strictEqual(withMins.replace(/[^0-9]/g, "").length >= 2, true);
        assert.throws(() => generatePassword({ length: 2, minUpper: 3 }), /minimums add up to 3, more than length 2/);
    });
});

describe("tools/local/stackConfig", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackcfg-"));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), [
            "name: workstation",
            "runtime: nodejs",
            "config:",
            "  region:",
            "    type: string",
            "    default: nyc3",
            "  ides:",
            "    type: array",
            "    default: [vscode, cursor]",
            "  desktop:",
            "    type: boolean",
            "    default: true",
            "  provisioningRun:",
            "    type: string",
            "    default: \"\"",
            "  token:",
            "    type: string",
            "    secret: true",
            "  shorthand: 3",
            "",
        ].join("\n"));
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), [
            "config:",
            "  workstation:region: fra1",
            "  workstation:tags:",
            "    - owner:me",
            "  workstation:backups: false",
            "  workstation:stageEstimates:",
            "    desktop: 90",
            "  digitalocean:token:",
            "    secure: v1:abcdef",
            "",
        ].join("\n"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("merges project defaults with the stack file, encoding non-strings as JSON like the CLI", () => {
        const cfg = loadStackConfig(dir, "dev");
        assert.deepStrictEqual(cfg.values, {
            "workstation:region": "fra1",
            "workstation:ides": "[\"vscode\",\"cursor\"]",
            "workstation:desktop": "true",
            "workstation:provisioningRun": "",
            "workstation:shorthand": "3",
            "workstation:tags": "[\"owner:me\"]",
            "workstation:backups": "false",
            "workstation:stageEstimates": "{\"desktop\":90}",
            "digitalocean:token": "[undecryptable secure value for digitalocean:token]",
        });
        assert.deepStrictEqual(cfg.secretKeys, ["digitalocean:token", "workstation:token"]);
        assert.strictEqual(cfg.warnings.length, 1);
        assert.match(cfg.warnings[0], /digitalocean:token is stored encrypted/);
    });

    it("lets overrides win and qualifies bare keys with the project", () => {
        const cfg = loadStackConfig(dir, "dev", { ideSources: { vscode: { repoUrl: "http://10.0.0.1:8080/code" } }, provisioningRun: "r2" });
        assert.strictEqual(cfg.values["workstation:ideSources"], "{\"vscode\":{\"repoUrl\":\"http://10.0.0.1:8080/code\"}}");
        assert.strictEqual(cfg.values["workstation:provisioningRun"], "r2");
        const env = configEnv(cfg);
        assert.strictEqual(JSON.parse(env.PULUMI_CONFIG)["workstation:region"], "fra1");
        assert.deepStrictEqual(JSON.parse(env.PULUMI_CONFIG_SECRET_KEYS), ["digitalocean:token", "workstation:token"]);
    });

    it("names the stack and the stacks that exist when the stack file is missing", () => {
        assert.throws(() => loadStackConfig(dir, "prod"), /--stack prod: no Pulumi\.prod\.yaml in .*; stacks here: dev/);
    });

    it("encodes values as the CLI does", () => {
        assert.strictEqual(encodeConfigValue("a b"), "a b");
        assert.strictEqual(encodeConfigValue(false), "false");
        assert.strictEqual(encodeConfigValue(12), "12");
        assert.strictEqual(encodeConfigValue(["x"]), "[\"x\"]");
    });

    it("reads the project's own Pulumi.yaml and dev stack into values the program accepts", () => {
        const root = path.resolve(__dirname, "..", "..");
        const cfg = loadStackConfig(root, "dev");
        assert.strictEqual(cfg.project, "workstation");
        assert.strictEqual(cfg.values["workstation:username"], "dev");
        assert.ok(Object.keys(cfg.values).every((k) => k.includes(":")));
    });
});
