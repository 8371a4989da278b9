// Rules on @pulumi/command remote.Command: a command that carries a secret does not log it.
import * as command from "@pulumi/command";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { readKnown, withDefaults } from "./shared";

export interface SecretsNotLoggedConfig {
    /** Stages whose command always carries a secret (matched as the `-<stage>` name suffix). */
    secretStages: string[];
    /** Text that marks a secret in stdin, create, update or delete. */
    secretMarkers: string[];
}
const SECRETS_NOT_LOGGED_DEFAULTS: SecretsNotLoggedConfig = {
    secretStages: ["system-prep"],
    secretMarkers: ["WS_PASSWORD="],
};

const SCRIPT_INPUTS = ["stdin", "create", "update", "delete"] as const;

/**
 * Why a command counts as handling secrets, or [] when it does not. The policy framework
 * hands secret inputs over as plain values, so secretness itself cannot be seen; instead:
 * the stage name, the markers in its scripts, and `additionalSecretOutputs` on stdout or
 * stderr (how the program marks a stage that handles secrets).
 */
function secretReasons(cmd: Record<string, unknown>, name: string, additionalSecretOutputs: readonly string[], cfg: SecretsNotLoggedConfig): string[] {
    const reasons: string[] = [];
    const stage = cfg.secretStages.find((s) => name === s || name.endsWith(`-${s}`));
    if (stage !== undefined) reasons.push(`stage ${stage}`);
    for (const input of SCRIPT_INPUTS) {
        // A script built from another resource's output is unknown during preview; the
        // stage-name rule still holds then.
        const text = readKnown(() => cmd[input]);
        if (!text.known || typeof text.value !== "string") continue;
        const value = text.value;
        const marker = cfg.secretMarkers.find((m) => value.includes(m));
        if (marker !== undefined) reasons.push(`${input} sets ${marker}`);
    }
    const marked = additionalSecretOutputs.filter((o) => o === "stdout" || o === "stderr");
    if (marked.length > 0) reasons.push(`${marked.join(" and ")} marked secret`);
    return reasons;
}

export const remoteCommandSecretsNotLogged: ResourceValidationPolicy = {
    name: "remote-command-secrets-not-logged",
    description:
        "A remote command that carries a secret (the system-prep stage, a script that sets WS_PASSWORD=, or " +
        'stdout/stderr marked as secret outputs) has logging "none": otherwise its output, which can echo the ' +
        "secret, is streamed into the engine's logs and the update's history.",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: {
        properties: {
            secretStages: { type: "array", items: { type: "string" }, default: SECRETS_NOT_LOGGED_DEFAULTS.secretStages },
            secretMarkers: { type: "array", items: { type: "string" }, default: SECRETS_NOT_LOGGED_DEFAULTS.secretMarkers },
        },
    },
    validateResource: validateResourceOfType(command.remote.Command, (cmd, args, reportViolation) => {
        const cfg = withDefaults(args.getConfig<Partial<SecretsNotLoggedConfig>>(), SECRETS_NOT_LOGGED_DEFAULTS);
        const reasons = secretReasons(cmd as Record<string, unknown>, args.name, args.opts.additionalSecretOutputs ?? [], cfg);
        if (reasons.length === 0) return;
        const logging = readKnown(() => cmd.logging);
        if (logging.known && logging.value === "none") return;
        const now = !logging.known
            ? "logging is unknown"
            : logging.value === undefined
              ? "logging is unset (stdoutAndStderr)"
              : `logging is "${logging.value}"`;
        reportViolation(
            `Command "${args.name}" handles secrets (${reasons.join("; ")}) but ${now}: ` + `set logging: "none" so that the secret never reaches the logs.`,
        );
    }),
};

export const commandPolicies: ResourceValidationPolicy[] = [remoteCommandSecretsNotLogged];
