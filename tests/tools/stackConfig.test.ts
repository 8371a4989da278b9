// The one stack-config reader (tools/shared/stackConfig.ts), used by the local runner,
// the plan, the bench, the unit tests and the deploy driver.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackFileError, configEnv, encodeConfigValue, listStacks, loadStackConfig, parseStackFile } from "../../tools/shared/stackConfig";

describe("tools/shared/stackConfig: loadStackConfig", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackcfg-"));
        fs.writeFileSync(
            path.join(dir, "Pulumi.yaml"),
            [
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
                '    default: ""',
                "  token:",
                "    type: string",
                "    secret: true",
                '    default: ""',
                "  shorthand: 3",
                "",
            ].join("\n"),
        );
        fs.writeFileSync(
            path.join(dir, "Pulumi.dev.yaml"),
            [
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
            ].join("\n"),
        );
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("merges project defaults with the stack file, encoding non-strings as JSON like the CLI", () => {
        const cfg = loadStackConfig(dir, "dev");
        assert.deepStrictEqual(cfg.values, {
            "workstation:region": "fra1",
            "workstation:ides": '["vscode","cursor"]',
            "workstation:desktop": "true",
            "workstation:provisioningRun": "",
            "workstation:token": "",
            "workstation:shorthand": "3",
            "workstation:tags": '["owner:me"]',
            "workstation:backups": "false",
            "workstation:stageEstimates": '{"desktop":90}',
            "digitalocean:token": "[undecryptable secure value for digitalocean:token]",
        });
        assert.deepStrictEqual(cfg.secretKeys, ["digitalocean:token", "workstation:token"]);
        assert.strictEqual(cfg.warnings.length, 1);
        assert.match(cfg.warnings[0], /digitalocean:token is stored encrypted/);
    });

    it("lets overrides win and qualifies bare keys with the project", () => {
        const cfg = loadStackConfig(dir, "dev", { ideSources: { vscode: { repoUrl: "http://10.0.0.1:8080/code" } }, provisioningRun: "r2" });
        assert.strictEqual(cfg.values["workstation:ideSources"], '{"vscode":{"repoUrl":"http://10.0.0.1:8080/code"}}');
        assert.strictEqual(cfg.values["workstation:provisioningRun"], "r2");
        const env = configEnv(cfg);
        assert.strictEqual(JSON.parse(env.PULUMI_CONFIG)["workstation:region"], "fra1");
        assert.deepStrictEqual(JSON.parse(env.PULUMI_CONFIG_SECRET_KEYS), ["digitalocean:token", "workstation:token"]);
    });

    it("names the stack and the stacks that exist when the stack file is missing", () => {
        assert.throws(() => loadStackConfig(dir, "prod"), /^StackFileError: unknown stack "prod": .*Pulumi\.prod\.yaml does not exist \(stacks: dev\)$/);
    });

    it("encodes values as the CLI does", () => {
        assert.strictEqual(encodeConfigValue("a b"), "a b");
        assert.strictEqual(encodeConfigValue(false), "false");
        assert.strictEqual(encodeConfigValue(12), "12");
        assert.strictEqual(encodeConfigValue(["x"]), '["x"]');
    });

    it("reads the project's own Pulumi.yaml and dev stack into values the program accepts", () => {
        const root = path.resolve(__dirname, "..", "..");
        const cfg = loadStackConfig(root, "dev");
        assert.strictEqual(cfg.project, "workstation");
        assert.strictEqual(cfg.values["workstation:username"], "dev");
        assert.ok(Object.keys(cfg.values).every((k) => k.includes(":")));
    });
});

describe("tools/shared/stackConfig: what the CLI refuses or reads besides", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackcfg-"));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: workstation\nconfig:\n  owner:\n    type: string\n  size: s-1\n");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("names a key declared without a default that the stack does not set", () => {
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "config:\n  workstation:size: s-2\n");
        assert.throws(
            () => loadStackConfig(dir, "dev"),
            (e: Error) =>
                e instanceof StackFileError &&
                e.message ===
                    `${path.join(dir, "Pulumi.dev.yaml")}: missing required config workstation:owner (declared without a default in ${path.join(dir, "Pulumi.yaml")})`,
        );
        assert.strictEqual(loadStackConfig(dir, "dev", { owner: "me" }).values["workstation:owner"], "me");
    });

    it("reads a .yml stack file and lists it among the stacks", () => {
        fs.writeFileSync(path.join(dir, "Pulumi.qa.yml"), "config:\n  workstation:owner: me\n");
        assert.deepStrictEqual(listStacks(dir), ["qa"]);
        const cfg = loadStackConfig(dir, "qa");
        assert.strictEqual(cfg.stackFile, path.join(dir, "Pulumi.qa.yml"));
        assert.deepStrictEqual(cfg.values, { "workstation:owner": "me", "workstation:size": "s-1" });
    });

    it("reads a stack file given by path, naming the stack after the file", () => {
        const file = path.join(dir, "Pulumi.other.yaml");
        fs.writeFileSync(file, "config:\n  owner: you\n");
        const cfg = loadStackConfig(dir, undefined, {}, { stackFile: file });
        assert.strictEqual(cfg.stack, "other");
        assert.strictEqual(cfg.values["workstation:owner"], "you");
    });

    it("refuses a key without a value and a stack name with a slash, naming them", () => {
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "config:\n  workstation:owner:\n");
        assert.throws(() => loadStackConfig(dir, "dev"), /Pulumi\.dev\.yaml: config key "workstation:owner" has no value$/);
        assert.throws(() => loadStackConfig(dir, "a/b"), /^StackFileError: "a\/b" is not a stack name/);
    });

    it("parses a stack file's text into its config as written and its secure keys", () => {
        assert.deepStrictEqual(parseStackFile("config:\n  a: 1\n  b:\n    secure: v1:x\n  c: [x]\n", "f.yaml"), {
            config: { a: 1, b: { secure: "v1:x" }, c: ["x"] },
            secureKeys: ["b"],
        });
        assert.deepStrictEqual(parseStackFile("", "f.yaml"), { config: {}, secureKeys: [] });
        assert.throws(() => parseStackFile("- a\n", "f.yaml"), /^StackFileError: f\.yaml: must be a mapping \(with a "config" key\), got a list$/);
    });
});
