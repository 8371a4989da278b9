// What the Pulumi CLI checks about a stack's config before `preview` or `up` runs the
// program, so that the fake stack provider refuses what the CLI refuses. Modelled on
// pulumi/pulumi 3.259: pkg/workspace/config.go (mergeConfig, validateStackConfigValue)
// and sdk/go/common/workspace/project.go (ValidateConfigValue, InferFullTypeName).
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";

/** A config value as the CLI stores it in Pulumi.<stack>.yaml. */
export interface StoredConfigValue {
    /** The plain text, or for an object value its JSON. */
    value: string;
    /** Stored as a YAML list or mapping (`objectValue`), not as a string. */
    object: boolean;
    secret: boolean;
}

interface ItemsType {
    type: string;
    items?: ItemsType;
}

interface ProjectConfigType {
    type?: string;
    items?: ItemsType;
    default?: unknown;
    value?: unknown;
    secret?: boolean;
}

export interface Project {
    name: string;
    config: Record<string, ProjectConfigType>;
}

export const REPO_PULUMI_YAML = path.join(__dirname, "..", "..", "Pulumi.yaml");

export function parseProject(text: string): Project {
    const doc = parseYaml(text) as { name?: unknown; config?: Record<string, ProjectConfigType> } | null;
    if (!doc || typeof doc.name !== "string") throw new Error("project is missing a 'name' attribute");
    return { name: doc.name, config: doc.config ?? {} };
}

export function readRepoProject(): Project {
    return parseProject(fs.readFileSync(REPO_PULUMI_YAML, "utf8"));
}

/** As ValidateConfigValue: strings that parse as integers or booleans pass, since the stack file stores scalars as text. */
export function validateConfigValue(type: string, items: ItemsType | undefined, value: unknown): boolean {
    switch (type) {
        case "string":
            return typeof value === "string";
        case "integer":
            if (typeof value === "number") return Number.isInteger(value);
            return typeof value === "string" && /^[+-]?\d+$/.test(value);
        case "boolean":
            return typeof value === "boolean" || value === "true" || value === "false";
        case "object":
            return typeof value === "object" && value !== null && !Array.isArray(value);
    }
    if (!Array.isArray(value) || items === undefined) return false;
    return value.every((item) => validateConfigValue(items.type, items.items, item));
}

/** As InferFullTypeName: `array<string>`, `array<array<integer>>`, `object`. */
export function fullTypeName(type: string, items: ItemsType | undefined): string {
    return items ? `array<${fullTypeName(items.type, items.items)}>` : type;
}

/** Bare keys belong to the project's namespace. */
function qualify(projectName: string, key: string): string {
    return key.includes(":") ? key : `${projectName}:${key}`;
}

/**
 * Throws the CLI's error when the stack's config would stop `pulumi preview`/`up`: a
 * key the project requires (no default) missing, a secret key stored in plain text, or
 * a value that does not match the type the project declares for it.
 */
export function validateStackConfig(stackName: string, project: Project, config: Record<string, StoredConfigValue>): void {
    const keys = Object.keys(project.config).sort();
    const missing = keys.filter((key) => {
        const declared = project.config[key];
        const qualified = qualify(project.name, key);
        return !(qualified in config) && declared.default === undefined && declared.value === undefined && qualified.startsWith(`${project.name}:`);
    });
    if (missing.length) {
        // As formatMissingKeys: 'a', 'b' and 'c'.
        const n = missing.length;
        const list = n === 1 ? `'${missing[0]}'` : missing.map((k, i) => (i === n - 1 ? `and '${k}'` : i === n - 2 ? `'${k}' ` : `'${k}', `)).join("");
        throw new Error(`Stack '${stackName}' is missing configuration ${missing.length === 1 ? "value" : "values"} ${list}`);
    }
    for (const key of keys) {
        const declared = project.config[key];
        const stored = config[qualify(project.name, key)];
        if (stored === undefined || declared.type === undefined) continue;
        if (declared.secret && !stored.secret) {
            throw new Error(`Stack '${stackName}' with configuration key '${key}' must be encrypted as it's secret`);
        }
        const content: unknown = stored.object ? JSON.parse(stored.value) : stored.value;
        if (!validateConfigValue(declared.type, declared.items, content)) {
            throw new Error(`Stack '${stackName}' with configuration key '${key}' must be of type '${fullTypeName(declared.type, declared.items)}'`);
        }
    }
}
