// The fake's model of the CLI's config checks, against the cases pulumi/pulumi's own
// pkg/workspace/config_project_test.go pins.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { REPO_PULUMI_YAML, StoredConfigValue, fullTypeName, parseProject, readRepoProject, validateConfigValue, validateStackConfig } from "./cliConfig";

const plain = (value: string): StoredConfigValue => ({ value, object: false, secret: false });
const object = (value: unknown): StoredConfigValue => ({ value: JSON.stringify(value), object: true, secret: false });

const PROJECT = parseProject(`name: test
config:
  values:
    type: array
    items:
      type: string
  importantNumber:
    type: integer
  flag:
    type: boolean
    default: false
  shape:
    type: object
    default: {}
  password:
    type: string
    secret: true
    default: x
`);

function refusal(config: Record<string, StoredConfigValue>): string {
    try {
        validateStackConfig("dev", PROJECT, config);
    } catch (err) {
        return (err as Error).message;
    }
    return "accepted";
}

describe("fake CLI: stack config checks", () => {
    const complete = { "test:values": object(["a"]), "test:importantNumber": plain("42") };

    it("accepts values of the declared types, scalars as the text the stack file keeps", () => {
        assert.strictEqual(refusal(complete), "accepted");
        assert.strictEqual(refusal({ ...complete, "test:flag": plain("true"), "test:shape": object({ a: 1 }) }), "accepted");
        assert.strictEqual(refusal({ ...complete, "test:importantNumber": object(42) }), "accepted");
        assert.strictEqual(refusal({ ...complete, "test:values": object([]) }), "accepted");
    });

    it("refuses a list stored as a string, as `config set-all --plaintext` stores it", () => {
        assert.strictEqual(
            refusal({ ...complete, "test:values": plain('["a","b"]') }),
            "Stack 'dev' with configuration key 'values' must be of type 'array<string>'",
        );
    });

    it("refuses other mismatches with the same message, naming the declared type", () => {
        assert.strictEqual(
            refusal({ ...complete, "test:importantNumber": plain("forty") }),
            "Stack 'dev' with configuration key 'importantNumber' must be of type 'integer'",
        );
        assert.strictEqual(refusal({ ...complete, "test:values": object([1]) }), "Stack 'dev' with configuration key 'values' must be of type 'array<string>'");
        assert.strictEqual(refusal({ ...complete, "test:flag": plain("yes") }), "Stack 'dev' with configuration key 'flag' must be of type 'boolean'");
        assert.strictEqual(refusal({ ...complete, "test:shape": plain('{"a":1}') }), "Stack 'dev' with configuration key 'shape' must be of type 'object'");
        assert.strictEqual(refusal({ ...complete, "test:shape": object([1]) }), "Stack 'dev' with configuration key 'shape' must be of type 'object'");
        assert.strictEqual(
            refusal({ ...complete, "test:password": plain("x") }),
            "Stack 'dev' with configuration key 'password' must be encrypted as it's secret",
        );
    });

    it("refuses a stack that lacks keys the project gives no default, listing them", () => {
        assert.strictEqual(refusal({}), "Stack 'dev' is missing configuration values 'importantNumber' and 'values'");
        assert.strictEqual(refusal({ "test:values": object(["a"]) }), "Stack 'dev' is missing configuration value 'importantNumber'");
    });

    it("types as the CLI names them", () => {
        assert.strictEqual(fullTypeName("array", { type: "array", items: { type: "integer" } }), "array<array<integer>>");
        assert.strictEqual(validateConfigValue("array", undefined, ["a"]), false, "an array without items is never valid");
        assert.strictEqual(validateConfigValue("integer", undefined, 1.5), false);
    });

    it("reads this repo's Pulumi.yaml, whose defaults all pass its own types", () => {
        const project = readRepoProject();
        assert.strictEqual(project.name, "workstation");
        for (const [key, declared] of Object.entries(project.config)) {
            if (declared.type === undefined || declared.default === undefined) continue;
            assert.ok(validateConfigValue(declared.type, declared.items, declared.default), `${key}: default does not match type ${declared.type}`);
        }
        assert.strictEqual(project.config.tags?.type, "array");
    });

    for (const env of ["dev", "staging", "prod"]) {
        it(`passes Pulumi.${env}.yaml as the CLI would store it`, () => {
            const file = path.join(path.dirname(REPO_PULUMI_YAML), `Pulumi.${env}.yaml`);
            const doc = parseYaml(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
            const stored = Object.fromEntries(
                Object.entries(doc.config ?? {}).map(([key, value]) => [
                    key,
                    typeof value === "object" && value !== null ? object(value) : plain(String(value)),
                ]),
            );
            validateStackConfig(env, readRepoProject(), stored);
        });
    }
});
