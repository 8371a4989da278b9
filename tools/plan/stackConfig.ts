// Reads a stack's config the way the Pulumi CLI hands it to a program: Pulumi.yaml's
// `config:` defaults, overlaid by Pulumi.<stack>.yaml, as `namespace:key` → string
// (objects and lists as JSON). Every problem names the file and what is wrong with it.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

/** A problem with the project or stack files; the message names the file. */
export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

export interface StackConfig {
    project: string;
    stack: string;
    /** The stack file read (absolute). */
    stackFile: string;
    /** `namespace:key` → value as the runtime sees it in PULUMI_CONFIG. */
    config: Record<string, string>;
    /** Keys whose value is `secure:` in the stack file; the plan cannot decrypt them. */
    secretKeys: string[];
}

/** What a plan puts in place of a value it cannot decrypt. */
export const SECRET_PLACEHOLDER = "plan-placeholder-secret";

const STACK_NAME = /^[A-Za-z0-9_.-]+$/;

function parseYamlFile(file: string): unknown {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new StackFileError(`${file}: cannot be read: ${(e as Error).message}`);
    }
    const doc = YAML.parseDocument(text, { prettyErrors: true });
    if (doc.errors.length > 0) {
        const first = doc.errors[0];
        const where = first.linePos ? ` (line ${first.linePos[0].line}, column ${first.linePos[0].col})` : "";
        throw new StackFileError(`${file}: not valid YAML${where}: ${first.message.split("\n")[0].replace(/:$/, "")}`);
    }
    return doc.toJS();
}

function isMapping(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
    return Array.isArray(v) ? "a list" : v === null ? "empty" : typeof v === "object" ? "a mapping" : `the ${typeof v} ${JSON.stringify(v)}`;
}

/** A config value as the CLI passes it: scalars as text, lists and mappings as JSON. */
function asConfigString(value: unknown): string {
    return typeof value === "string" ? value : typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

function fullKey(project: string, key: string): string {
    return key.includes(":") ? key : `${project}:${key}`;
}

/** Stack names with a Pulumi.<stack>.yaml in `dir`. */
export function stacksIn(dir: string): string[] {
    return fs
        .readdirSync(dir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/**
 * The config for `stack`, from `projectDir`/Pulumi.yaml and the stack file
 * (`projectDir`/Pulumi.<stack>.yaml unless `stackFile` is given).
 */
export function loadStackConfig(projectDir: string, stack: string | undefined, stackFile?: string): StackConfig {
    const projectFile = path.join(projectDir, "Pulumi.yaml");
    const project = parseYamlFile(projectFile);
    if (!isMapping(project) || typeof project.name !== "string") {
        throw new StackFileError(`${projectFile}: must be a mapping with a "name"`);
    }
    const projectName = project.name;

    let file: string;
    let name: string;
    if (stackFile !== undefined) {
        file = path.resolve(stackFile);
        name = stack ?? /^Pulumi\.(.+)\.yaml$/.exec(path.basename(file))?.[1] ?? path.basename(file).replace(/\.ya?ml$/, "");
        if (!fs.existsSync(file)) throw new StackFileError(`${file}: stack file does not exist`);
    } else {
        if (stack === undefined) throw new StackFileError("no stack given: pass --stack <name> or --stack-file <path>");
        name = stack;
        file = path.join(projectDir, `Pulumi.${stack}.yaml`);
        if (!STACK_NAME.test(stack)) {
            throw new StackFileError(`"${stack}" is not a stack name (letters, digits, "_", "." and "-" only)`);
        }
        if (!fs.existsSync(file)) {
            throw new StackFileError(`unknown stack "${stack}": ${file} does not exist (stacks: ${stacksIn(projectDir).join(", ") || "none"})`);
        }
    }
    if (!STACK_NAME.test(name)) throw new StackFileError(`${file}: "${name}" is not a stack name; pass --stack <name>`);

    const config: Record<string, string> = {};
    const secretKeys: string[] = [];

    // Project-level defaults: `key: {default: v, ...}` or the shorthand `key: v`.
    const required: string[] = [];
    if (project.config !== undefined && project.config !== null) {
        if (!isMapping(project.config)) throw new StackFileError(`${projectFile}: "config" must be a mapping, got ${describe(project.config)}`);
        for (const [key, decl] of Object.entries(project.config)) {
            const k = fullKey(projectName, key);
            if (isMapping(decl)) {
                if ("default" in decl) config[k] = asConfigString(decl.default);
                else if ("value" in decl) config[k] = asConfigString(decl.value);
                else required.push(k);
            } else if (decl !== null) {
                config[k] = asConfigString(decl);
            }
        }
    }

    const doc = parseYamlFile(file);
    if (doc !== null && doc !== undefined && !isMapping(doc)) {
        throw new StackFileError(`${file}: must be a mapping (with a "config" key), got ${describe(doc)}`);
    }
    const stackConfig = isMapping(doc) ? doc.config : undefined;
    if (stackConfig !== undefined && stackConfig !== null) {
        if (!isMapping(stackConfig)) throw new StackFileError(`${file}: "config" must be a mapping of key: value, got ${describe(stackConfig)}`);
        for (const [key, value] of Object.entries(stackConfig)) {
            const k = fullKey(projectName, key);
            if (value === null) throw new StackFileError(`${file}: config key "${key}" has no value`);
            if (isMapping(value) && Object.keys(value).length === 1 && typeof value.secure === "string") {
                config[k] = SECRET_PLACEHOLDER;
                secretKeys.push(k);
            } else {
                config[k] = asConfigString(value);
            }
        }
    }

    const missing = required.filter((k) => !(k in config));
    if (missing.length > 0) {
        throw new StackFileError(`${file}: missing required config ${missing.join(", ")} (declared without a default in ${projectFile})`);
    }
    return { project: projectName, stack: name, stackFile: file, config, secretKeys };
}
