// Stack config for the local runner: what the Pulumi CLI would hand the program.
//
// The CLI merges the project's defaults (Pulumi.yaml `config:`) with the stack file
// (Pulumi.<stack>.yaml `config:`) and passes the result to the language host as
// PULUMI_CONFIG, a JSON object of fully qualified keys (`workstation:size`) to
// strings: strings as they are, everything else JSON-encoded. Secret keys are listed in
// PULUMI_CONFIG_SECRET_KEYS. This module does the same from the files on disk.

import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";

export interface StackConfig {
    /** Project name from Pulumi.yaml. */
    project: string;
    stack: string;
    /** Fully qualified key to the string the program's `pulumi.Config` sees. */
    values: Record<string, string>;
    /** Keys whose values are secret (declared `secret: true` or stored `secure:`). */
    secretKeys: string[];
    /** Things a person should know (secure values that could not be decrypted here). */
    warnings: string[];
}

/** Schema keys of a Pulumi.yaml config entry; an object with any of them is a declaration, not a value. */
const DECLARATION_KEYS = new Set(["type", "default", "value", "description", "secret", "items"]);

/** Encodes a config value the way the CLI puts it into PULUMI_CONFIG. */
export function encodeConfigValue(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

function qualify(project: string, key: string): string {
    return key.includes(":") ? key : `${project}:${key}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function readYaml(file: string): unknown {
    try {
        return YAML.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
        throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
}

/** Lists the stacks that have a Pulumi.<stack>.yaml in the project directory. */
export function listStacks(projectDir: string): string[] {
    return fs
        .readdirSync(projectDir)
        .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/**
 * Loads the config for `stack` from `projectDir`. `overrides` (fully qualified or
 * project-relative keys) win over both files, like `pulumi config set` would.
 */
export function loadStackConfig(projectDir: string, stack: string, overrides: Record<string, unknown> = {}): StackConfig {
    const projectFile = path.join(projectDir, "Pulumi.yaml");
    if (!fs.existsSync(projectFile)) {
        throw new Error(`no Pulumi.yaml in ${projectDir}`);
    }
    const projectDoc = readYaml(projectFile);
    if (!isPlainObject(projectDoc) || typeof projectDoc.name !== "string") {
        throw new Error(`${projectFile}: expected a mapping with a string "name"`);
    }
    const project = projectDoc.name;

    const stackFile = [".yaml", ".yml"].map((ext) => path.join(projectDir, `Pulumi.${stack}${ext}`)).find((f) => fs.existsSync(f));
    if (stackFile === undefined) {
        const known = listStacks(projectDir);
        throw new Error(`--stack ${stack}: no Pulumi.${stack}.yaml in ${projectDir}; stacks here: ${known.length ? known.join(", ") : "(none)"}`);
    }

    const values: Record<string, string> = {};
    const secret = new Set<string>();
    const warnings: string[] = [];

    const declared = projectDoc.config ?? {};
    if (!isPlainObject(declared)) {
        throw new Error(`${projectFile}: "config" must be a mapping`);
    }
    for (const [rawKey, decl] of Object.entries(declared)) {
        const key = qualify(project, rawKey);
        if (isPlainObject(decl) && Object.keys(decl).some((k) => DECLARATION_KEYS.has(k))) {
            const dflt = "value" in decl ? decl.value : decl.default;
            if (decl.secret === true) {
                secret.add(key);
            }
            if (dflt !== undefined && dflt !== null) {
                values[key] = encodeConfigValue(dflt);
            }
        } else if (decl !== undefined && decl !== null) {
            // Shorthand `key: value` is a default value.
            values[key] = encodeConfigValue(decl);
        }
    }

    const stackDoc = readYaml(stackFile) ?? {};
    if (!isPlainObject(stackDoc)) {
        throw new Error(`${stackFile}: expected a mapping`);
    }
    const stackConfig = stackDoc.config ?? {};
    if (!isPlainObject(stackConfig)) {
        throw new Error(`${stackFile}: "config" must be a mapping`);
    }
    for (const [rawKey, value] of Object.entries(stackConfig)) {
        const key = qualify(project, rawKey);
        if (isPlainObject(value) && Object.keys(value).length === 1 && typeof value.secure === "string") {
            // Encrypted for the stack's secrets provider, which is out of reach here.
            secret.add(key);
            values[key] = `[undecryptable secure value for ${key}]`;
            warnings.push(`${key} is stored encrypted in ${path.basename(stackFile)}; the local runner cannot decrypt it and passes a placeholder`);
            continue;
        }
        if (value === null || value === undefined) {
            continue;
        }
        values[key] = encodeConfigValue(value);
    }

    for (const [rawKey, value] of Object.entries(overrides)) {
        values[qualify(project, rawKey)] = encodeConfigValue(value);
    }

    return { project, stack, values, secretKeys: [...secret].sort(), warnings };
}

/** The environment the Pulumi language host would get for this config. */
export function configEnv(config: StackConfig): Record<string, string> {
    return {
        PULUMI_CONFIG: JSON.stringify(config.values),
        PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(config.secretKeys),
    };
}
