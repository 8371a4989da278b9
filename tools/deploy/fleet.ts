// The fleet file and the config each fleet stack gets. Pure functions over text, so every
// problem is found, and named, before any stack is touched.
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { ENVIRONMENTS, Environment, UsageError, isEnvironment } from "./args";
import type { StackConfigValue } from "./stacks";
import { StackFileError, isSecureValue, parseStackFile } from "../shared/stackConfig";

export const PROJECT_NAMESPACE = "workstation";

/** A config value as the fleet file may give it; lists and mappings are stored as objects (config.getObject reads them). */
export type FleetConfigValue = string | number | boolean | unknown[] | Record<string, unknown>;

export interface FleetMember {
    name: string;
    env: Environment;
    /** Keys as written in the fleet file (bare keys are in the `workstation` namespace). */
    config: Record<string, FleetConfigValue>;
    /** `<env>-<name>`: one stack, so one state and one lock, per workstation. */
    stackName: string;
}

/** Workstation names: lower-case letters, digits and single hyphens, starting with a letter, at most 32. */
export const NAME_PATTERN = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,31}$/;
const KEY_PART = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const MEMBER_KEYS = ["name", "env", "config"];

export function stackNameFor(env: Environment, name: string): string {
    if (!isEnvironment(env)) throw new Error(`env ${JSON.stringify(env)} is not one of ${ENVIRONMENTS.join(", ")}`);
    if (!NAME_PATTERN.test(name)) throw new Error(`name ${JSON.stringify(name)} does not match ${NAME_PATTERN}`);
    return `${env}-${name}`;
}

/** `owner` → `workstation:owner`; `digitalocean:region` stays as it is. */
export function qualifyKey(key: string): string {
    return key.includes(":") ? key : `${PROJECT_NAMESPACE}:${key}`;
}

function validKey(key: string): boolean {
    const parts = key.split(":");
    return parts.length <= 2 && parts.every((p) => KEY_PART.test(p));
}

/** Parses and validates a fleet file's text; `fileName` picks JSON or YAML by extension and names errors. */
export function parseFleet(text: string, fileName: string): FleetMember[] {
    const ext = path.extname(fileName).toLowerCase();
    let doc: unknown;
    try {
        if (ext === ".json") doc = JSON.parse(text);
        else if (ext === ".yaml" || ext === ".yml") doc = parseYaml(text);
        else throw new UsageError(`--fleet ${fileName}: extension ${JSON.stringify(ext)} is not allowed: use .json, .yaml or .yml`);
    } catch (err) {
        if (err instanceof UsageError) throw err;
        throw new UsageError(`--fleet ${fileName}: not valid ${ext === ".json" ? "JSON" : "YAML"}: ${(err as Error).message}`);
    }
    if (!Array.isArray(doc)) {
        throw new UsageError(`--fleet ${fileName}: the file must be a list of { name, env, config }, got ${describe(doc)}`);
    }
    if (doc.length === 0) throw new UsageError(`--fleet ${fileName}: the list is empty: name at least one workstation`);

    const members: FleetMember[] = [];
    const where = (i: number): string => `--fleet ${fileName}: entry ${i}`;
    doc.forEach((entry: unknown, i: number) => {
        if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
            throw new UsageError(`${where(i)} must be an object { name, env, config }, got ${describe(entry)}`);
        }
        const e = entry as Record<string, unknown>;
        for (const key of Object.keys(e)) {
            if (!MEMBER_KEYS.includes(key)) {
                throw new UsageError(`${where(i)}: unknown key ${JSON.stringify(key)}: allowed keys are ${MEMBER_KEYS.join(", ")}`);
            }
        }
        if (typeof e.name !== "string" || !NAME_PATTERN.test(e.name)) {
            throw new UsageError(
                `${where(i)}: name ${describe(e.name)} is not allowed: lower-case letters, digits and ` +
                    "single hyphens, starting with a letter, not ending with a hyphen, at most 32 characters",
            );
        }
        if (typeof e.env !== "string" || !isEnvironment(e.env)) {
            throw new UsageError(`${where(i)} (${e.name}): env ${describe(e.env)} is not allowed: one of ${ENVIRONMENTS.join(", ")}`);
        }
        const config: Record<string, FleetConfigValue> = {};
        if (e.config !== undefined) {
            if (typeof e.config !== "object" || e.config === null || Array.isArray(e.config)) {
                throw new UsageError(`${where(i)} (${e.name}): config must be an object of key: value, got ${describe(e.config)}`);
            }
            for (const [key, value] of Object.entries(e.config as Record<string, unknown>)) {
                if (!validKey(key)) {
                    throw new UsageError(
                        `${where(i)} (${e.name}): config key ${JSON.stringify(key)} is not allowed: ` +
                            "a name like `owner` (project namespace) or `namespace:name`, letters, digits, _ . -",
                    );
                }
                if (value === null || value === undefined) {
                    throw new UsageError(`${where(i)} (${e.name}): config ${key} is ${describe(value)}: give a string, number, boolean, list or object`);
                }
                if (isSecureValue(value)) {
                    throw new UsageError(
                        `${where(i)} (${e.name}): config ${key} is an encrypted { secure } value, which only ` +
                            "the stack it was encrypted for can read: fleet stacks take secrets from the environment",
                    );
                }
                config[key] = value as FleetConfigValue;
            }
        }
        members.push({ name: e.name, env: e.env, config, stackName: stackNameFor(e.env, e.name) });
    });

    const seen = new Map<string, number>();
    members.forEach((m, i) => {
        const first = seen.get(m.stackName);
        if (first !== undefined) {
            throw new UsageError(
                `--fleet ${fileName}: entries ${first} and ${i} both make stack ${m.stackName}: ` +
                    "each (env, name) pair must be unique, since each stack has its own state",
            );
        }
        seen.set(m.stackName, i);
    });
    return members;
}

function describe(value: unknown): string {
    if (value === undefined) return "missing";
    if (value === null) return "null";
    if (Array.isArray(value)) return "a list";
    if (typeof value === "object") return "an object";
    return JSON.stringify(value);
}

/**
 * The `config:` map of a Pulumi.<env>.yaml, for a fleet stack to start from (the CLI reads that
 * file only for the stack of the same name). Encrypted values are refused: they are bound to the
 * env stack's encryption, and copying them would leave the fleet stack unable to decrypt them.
 */
export function readStackFileConfig(text: string, fileName: string): Record<string, unknown> {
    let parsed;
    try {
        parsed = parseStackFile(text, fileName);
    } catch (err) {
        if (err instanceof StackFileError) throw new UsageError(err.message);
        throw err;
    }
    const [secure] = parsed.secureKeys;
    if (secure !== undefined) {
        throw new UsageError(
            `${fileName}: config ${secure} is a secret ({ secure }); fleet stacks cannot reuse another ` +
                "stack's encrypted values: move it to an environment variable or deploy that env with --env",
        );
    }
    return parsed.config;
}

/** The key that says whether a workstation is running (config `running`). */
export const RUNNING_CONFIG_KEY = `${PROJECT_NAMESPACE}:running`;

/**
 * The complete config of a fleet stack: the env file's config but `running`, then the member's
 * own keys on top, keys fully qualified. Numbers and booleans become the text the stack file keeps for them (the
 * CLI accepts "42" for an integer and "true" for a boolean); lists and mappings stay structured,
 * since the CLI refuses a JSON string for a key Pulumi.yaml declares as an array or an object.
 */
export function fleetStackConfig(envConfig: Record<string, unknown>, member: FleetMember): Record<string, StackConfigValue> {
    const result: Record<string, StackConfigValue> = {};
    const put = (key: string, value: unknown): void => {
        result[qualifyKey(key)] = typeof value === "object" && value !== null ? (value as unknown[] | Record<string, unknown>) : String(value);
    };
    // running is each stack's own state, not the env's: a stop committed to Pulumi.<env>.yaml
    // (stop-idle) stops the env stack, not every fleet stack built on that file.
    for (const [key, value] of Object.entries(envConfig)) if (qualifyKey(key) !== RUNNING_CONFIG_KEY) put(key, value);
    for (const [key, value] of Object.entries(member.config)) put(key, value);
    return result;
}
