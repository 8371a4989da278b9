// The one reader of a stack's config, as the Pulumi CLI hands it to a program.
//
// The CLI merges the project's defaults (Pulumi.yaml `config:`) with the stack file
// (Pulumi.<stack>.yaml or .yml, `config:`) and passes the result to the language host as
// PULUMI_CONFIG, a JSON object of fully qualified keys (`workstation:size`) to strings:
// strings as they are, everything else JSON-encoded. Secret keys are listed in
// PULUMI_CONFIG_SECRET_KEYS. A key declared without a default that the stack does not set
// stops the CLI before the program runs. The local runner, the plan, the bench, the unit
// tests and the deploy driver all read config through this module; every problem names
// the file and what is wrong with it.
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
    /** Project name from Pulumi.yaml. */
    project: string;
    stack: string;
    /** The stack file read (absolute). */
    stackFile: string;
    /** Fully qualified key to the string the program's `pulumi.Config` sees. */
    values: Record<string, string>;
    /** Keys whose values are secret (declared `secret: true` or stored `secure:`), sorted. */
    secretKeys: string[];
    /** Things a person should know (secure values that could not be decrypted here). */
    warnings: string[];
}

/** A stack file's `config:` as written: keys as in the file, values as parsed (lists and mappings structured). */
export interface StackFileConfig {
    config: Record<string, unknown>;
    /** Keys (as written) whose value is an encrypted `{ secure: ... }`. */
    secureKeys: string[];
}

/** Schema keys of a Pulumi.yaml config entry; an object with any of them is a declaration, not a value. */
const DECLARATION_KEYS = new Set(["type", "default", "value", "description", "secret", "items"]);

const STACK_NAME = /^[A-Za-z0-9_.-]+$/;
const STACK_FILE = /^Pulumi\.(.+)\.ya?ml$/;

/** What stands in for a `secure:` value, which only the stack's secrets provider can decrypt. */
export function securePlaceholder(key: string): string {
    return `[undecryptable secure value for ${key}]`;
}

/** Encodes a config value the way the CLI puts it into PULUMI_CONFIG. */
export function encodeConfigValue(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

/** `size` → `<project>:size`; `digitalocean:token` stays as it is. */
export function qualifyKey(project: string, key: string): string {
    return key.includes(":") ? key : `${project}:${key}`;
}

function isMapping(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An encrypted stack value: `{ secure: "v1:..." }` and nothing else. */
export function isSecureValue(v: unknown): boolean {
    return isMapping(v) && Object.keys(v).length === 1 && typeof v.secure === "string";
}

function describe(v: unknown): string {
    return Array.isArray(v) ? "a list" : v === null ? "empty" : typeof v === "object" ? "a mapping" : `the ${typeof v} ${JSON.stringify(v)}`;
}

function parseYamlText(text: string, file: string): unknown {
    const doc = YAML.parseDocument(text, { prettyErrors: true });
    if (doc.errors.length > 0) {
        const first = doc.errors[0];
        const where = first.linePos ? ` (line ${first.linePos[0].line}, column ${first.linePos[0].col})` : "";
        throw new StackFileError(`${file}: not valid YAML${where}: ${first.message.split("\n")[0].replace(/:$/, "")}`);
    }
    return doc.toJS();
}

function readText(file: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new StackFileError(`${file}: cannot be read: ${(e as Error).message}`);
    }
}

/** Stack names with a Pulumi.<stack>.yaml (or .yml) in `dir`. */
export function listStacks(dir: string): string[] {
    return [
        ...new Set(
            fs
                .readdirSync(dir)
                .map((f) => STACK_FILE.exec(f)?.[1])
                .filter((s): s is string => s !== undefined),
        ),
    ].sort();
}

/** The stack file of `stack` in `dir` (.yaml before .yml), or undefined when there is none. */
export function findStackFile(dir: string, stack: string): string | undefined {
    return [".yaml", ".yml"].map((ext) => path.join(dir, `Pulumi.${stack}${ext}`)).find((f) => fs.existsSync(f));
}

/** A stack file's `config:` from its text; `file` names it in errors. An empty file has no config. */
export function parseStackFile(text: string, file: string): StackFileConfig {
    const doc = parseYamlText(text, file);
    if (doc !== null && doc !== undefined && !isMapping(doc)) {
        throw new StackFileError(`${file}: must be a mapping (with a "config" key), got ${describe(doc)}`);
    }
    const config = isMapping(doc) ? doc.config : undefined;
    if (config === undefined || config === null) return { config: {}, secureKeys: [] };
    if (!isMapping(config)) throw new StackFileError(`${file}: "config" must be a mapping of key: value, got ${describe(config)}`);
    const secureKeys: string[] = [];
    for (const [key, value] of Object.entries(config)) {
        if (value === null || value === undefined) throw new StackFileError(`${file}: config key "${key}" has no value`);
        if (isSecureValue(value)) secureKeys.push(key);
    }
    return { config, secureKeys };
}

interface ProjectFile {
    file: string;
    project: string;
    /** Fully qualified key → default value as declared. */
    defaults: Record<string, unknown>;
    /** Keys declared `secret: true`. */
    secretKeys: string[];
    /** Keys declared without a default: the stack must set them. */
    required: string[];
}

function readProject(projectDir: string): ProjectFile {
    const file = path.join(projectDir, "Pulumi.yaml");
    if (!fs.existsSync(file)) throw new StackFileError(`no Pulumi.yaml in ${projectDir}`);
    const doc = parseYamlText(readText(file), file);
    if (!isMapping(doc) || typeof doc.name !== "string") {
        throw new StackFileError(`${file}: must be a mapping with a "name"`);
    }
    const project = doc.name;
    const defaults: Record<string, unknown> = {};
    const secretKeys: string[] = [];
    const required: string[] = [];
    const declared = doc.config ?? {};
    if (!isMapping(declared)) throw new StackFileError(`${file}: "config" must be a mapping, got ${describe(declared)}`);
    for (const [rawKey, decl] of Object.entries(declared)) {
        const key = qualifyKey(project, rawKey);
        if (isMapping(decl) && Object.keys(decl).some((k) => DECLARATION_KEYS.has(k))) {
            const dflt = "value" in decl ? decl.value : decl.default;
            if (decl.secret === true) secretKeys.push(key);
            if (dflt !== undefined && dflt !== null) defaults[key] = dflt;
            else required.push(key);
        } else if (decl !== undefined && decl !== null) {
            // Shorthand `key: value` is a default value.
            defaults[key] = decl;
        }
    }
    return { file, project, defaults, secretKeys, required };
}

export interface LoadOptions {
    /** Read this stack file instead of Pulumi.<stack>.yaml; the stack name defaults to its Pulumi.<name>.yaml name. */
    stackFile?: string;
}

/**
 * Loads the config for `stack` from `projectDir`. `overrides` (fully qualified or
 * project-relative keys) win over both files, like `pulumi config set` would.
 */
export function loadStackConfig(
    projectDir: string,
    stack: string | undefined,
    overrides: Record<string, unknown> = {},
    options: LoadOptions = {},
): StackConfig {
    const project = readProject(projectDir);

    let file: string;
    let name: string;
    if (options.stackFile !== undefined) {
        file = path.resolve(options.stackFile);
        name = stack ?? STACK_FILE.exec(path.basename(file))?.[1] ?? path.basename(file).replace(/\.ya?ml$/, "");
        if (!fs.existsSync(file)) throw new StackFileError(`${file}: stack file does not exist`);
    } else {
        if (stack === undefined) throw new StackFileError("no stack given: pass --stack <name> or --stack-file <path>");
        if (!STACK_NAME.test(stack)) {
            throw new StackFileError(`"${stack}" is not a stack name (letters, digits, "_", "." and "-" only)`);
        }
        name = stack;
        const found = findStackFile(projectDir, stack);
        if (found === undefined) {
            const known = listStacks(projectDir);
            throw new StackFileError(
                `unknown stack "${stack}": ${path.join(projectDir, `Pulumi.${stack}.yaml`)} does not exist ` +
                    `(stacks: ${known.length ? known.join(", ") : "none"})`,
            );
        }
        file = found;
    }
    if (!STACK_NAME.test(name)) throw new StackFileError(`${file}: "${name}" is not a stack name; pass --stack <name>`);

    const values: Record<string, string> = {};
    const secret = new Set(project.secretKeys);
    const warnings: string[] = [];
    for (const [key, value] of Object.entries(project.defaults)) values[key] = encodeConfigValue(value);

    const stackConfig = parseStackFile(readText(file), file);
    for (const [rawKey, value] of Object.entries(stackConfig.config)) {
        const key = qualifyKey(project.project, rawKey);
        if (stackConfig.secureKeys.includes(rawKey)) {
            // Encrypted for the stack's secrets provider, which is out of reach here.
            secret.add(key);
            values[key] = securePlaceholder(key);
            warnings.push(`${key} is stored encrypted in ${path.basename(file)}; it cannot be decrypted here, so the program gets a placeholder`);
            continue;
        }
        values[key] = encodeConfigValue(value);
    }

    for (const [rawKey, value] of Object.entries(overrides)) {
        values[qualifyKey(project.project, rawKey)] = encodeConfigValue(value);
    }

    const missing = project.required.filter((k) => !(k in values));
    if (missing.length > 0) {
        throw new StackFileError(`${file}: missing required config ${missing.join(", ")} (declared without a default in ${project.file})`);
    }
    return { project: project.project, stack: name, stackFile: file, values, secretKeys: [...secret].sort(), warnings };
}

/** The environment the Pulumi language host would get for this config. */
export function configEnv(config: StackConfig): Record<string, string> {
    return {
        PULUMI_CONFIG: JSON.stringify(config.values),
        PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(config.secretKeys),
    };
}
