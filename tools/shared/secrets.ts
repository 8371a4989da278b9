// Pulumi's secret wrapper as the mocks and the policy framework see it: an object whose
// signature key holds the secret signature, with the plain value under `value`.

/** The signature key and value the SDK marks a secret with (sdk/nodejs/runtime/rpc.ts). */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Whether `value` is a wrapped secret. */
export function isWrappedSecret(value: unknown): value is { value: unknown } {
    return value !== null && typeof value === "object" && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG_VALUE;
}

/** Removes the secret wrappers at any depth; the value is then as a provider or a policy sees it. */
export function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value !== null && typeof value === "object") {
        if (isWrappedSecret(value)) return unwrapSecrets(value.value);
        return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}
