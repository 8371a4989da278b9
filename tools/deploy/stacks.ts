// The seam between the driver and Pulumi: everything the driver asks of a workspace and a stack.
// pulumiStacks.ts implements it with the Automation API; the tests use a fake.
import type { EngineEvent, OpMap } from "@pulumi/pulumi/automation";

export interface OperationOptions {
    /** Policy pack directories, passed as --policy-pack. */
    policyPacks: string[];
    onOutput?: (text: string) => void;
    onEvent?: (event: EngineEvent) => void;
}

export interface UpOutcome {
    /** Stack outputs by name, plain values (secrets decrypted). */
    outputs: Record<string, unknown>;
    resourceChanges?: OpMap;
}

export interface PreviewOutcome {
    changeSummary: OpMap;
}

export interface DestroyOutcome {
    resourceChanges?: OpMap;
}

/**
 * A stack config value as the CLI stores it: a string is a plain value; a list or a
 * mapping is an object value (a YAML list or mapping in Pulumi.<stack>.yaml), which is
 * what a key that Pulumi.yaml declares `type: array` or `type: object` must hold.
 */
export type StackConfigValue = string | unknown[] | Record<string, unknown>;

export interface StackHandle {
    readonly name: string;
    /**
     * Makes the stack's own config exactly `config` (fully qualified keys → values): sets
     * every key and removes keys no longer given. Used for fleet stacks only; an env stack's config
     * is its Pulumi.<env>.yaml, which the CLI reads itself.
     */
    replaceConfig(config: Record<string, StackConfigValue>): Promise<void>;
    /** Sets one plain config key of the stack (for an env stack, in its Pulumi.<env>.yaml, as `pulumi config set`). */
    setConfigValue(key: string, value: string): Promise<void>;
    /** The stack's outputs, secrets decrypted (as `pulumi stack output --json --show-secrets`). */
    outputs(): Promise<Record<string, unknown>>;
    preview(options: OperationOptions): Promise<PreviewOutcome>;
    up(options: OperationOptions): Promise<UpOutcome>;
    destroy(options: OperationOptions): Promise<DestroyOutcome>;
}

export interface StackProvider {
    /** Selects the stack, creating it in the backend if it does not exist yet. */
    createOrSelect(stackName: string): Promise<StackHandle>;
}
