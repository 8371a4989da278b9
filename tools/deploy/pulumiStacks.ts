// The StackProvider backed by the Pulumi Automation API and the Pulumi CLI on PATH.
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { isDeepStrictEqual } from "util";
import { DestroyOutcome, OperationOptions, PreviewOutcome, StackConfigValue, StackHandle, StackProvider, UpOutcome } from "./stacks";

/**
 * `workDir` must be the project directory (the one holding Pulumi.yaml): the CLI then reads
 * Pulumi.<stack>.yaml from it by itself, so an env stack needs no config set from here.
 * The backend and the secrets passphrase come from the environment (PULUMI_BACKEND_URL,
 * PULUMI_CONFIG_PASSPHRASE), like every other Pulumi command.
 */
export function pulumiStackProvider(workDir: string): StackProvider {
    let command: Promise<PulumiCommand> | undefined;
    return {
        async createOrSelect(stackName: string): Promise<StackHandle> {
            try {
                command ??= PulumiCommand.get().then((cmd) => {
                    checkCliVersion(cmd.version?.version ?? null);
                    return cmd;
                });
                const pulumiCommand = await command;
                return new PulumiStackHandle(await LocalWorkspace.createOrSelectStack({ stackName, workDir }, { pulumiCommand }));
            } catch (err) {
                if (/ENOENT: pulumi/.test(String(err))) {
                    throw new Error("the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/iac/download-install/) and run again", {
                        cause: err,
                    });
                }
                throw err;
            }
        },
    };
}

/**
 * The oldest Pulumi CLI this project works with: Pulumi.yaml declares `type: object`
 * config (3.187) and fleet stacks get lists and mappings through `config set-all --json`
 * with `objectValue` (3.203). The README and the workflows' `pulumi-version` say the same.
 */
export const MIN_PULUMI_CLI_VERSION = "3.203.0";

/** Throws, naming both versions, when the CLI found is older than MIN_PULUMI_CLI_VERSION. */
export function checkCliVersion(found: string | null): void {
    const parse = (v: string): number[] | undefined => /^v?(\d+)\.(\d+)\.(\d+)/.exec(v)?.slice(1, 4).map(Number);
    const have = found === null ? undefined : parse(found);
    const need = parse(MIN_PULUMI_CLI_VERSION)!;
    // The first of major, minor, patch that differs decides.
    const first = have?.findIndex((n, i) => n !== need[i]) ?? -1;
    if (have === undefined || (first !== -1 && have[first] < need[first])) {
        throw new Error(
            `the Pulumi CLI on PATH is ${found ?? "of an unknown version"}; this project needs ${MIN_PULUMI_CLI_VERSION} or later ` +
                "(object config in Pulumi.yaml needs 3.187, `config set-all --json` with objectValue 3.203): update it " +
                "(https://www.pulumi.com/docs/iac/download-install/)",
        );
    }
}

/**
 * One entry of `config set-all --json`, in the shape `pulumi config --json` prints: the CLI
 * stores `value` as text, or, when `objectValue` is given, `value` (the same object as JSON)
 * as an object value (pulumi/pulumi pkg/cmd/pulumi/config/config.go, configValueJSON).
 */
export function configJson(value: StackConfigValue): { value: string; objectValue?: unknown; secret: false } {
    return typeof value === "string" ? { value, secret: false } : { value: JSON.stringify(value), objectValue: value, secret: false };
}

class PulumiStackHandle implements StackHandle {
    constructor(private readonly stack: Stack) {}

    get name(): string {
        return this.stack.name;
    }

    /**
     * One `config set-all --json` (CLI >= 3.203) for every key that differs: a list or a
     * mapping goes as `objectValue`, which the CLI stores as YAML structure. `set-all
     * --plaintext` (setAllConfig) would store it as a JSON string, and `up` would then
     * refuse a key Pulumi.yaml declares `type: array` ("must be of type 'array<string>'").
     */
    async replaceConfig(config: Record<string, StackConfigValue>): Promise<void> {
        // `pulumi config --json` also gives `objectValue` for object values (ConfigValue's type omits it).
        const current = (await this.stack.getAllConfig()) as Record<string, { value?: string; objectValue?: unknown; secret?: boolean }>;
        const stale = Object.keys(current).filter((key) => !(key in config));
        if (stale.length) await this.stack.removeAllConfig(stale);
        const wanted = Object.entries(config).filter(([key, value]) => {
            const now = current[key];
            if (!now || now.secret) return true;
            return typeof value === "string" ? now.objectValue !== undefined || now.value !== value : !isDeepStrictEqual(now.objectValue, value);
        });
        if (wanted.length) await this.stack.setAllConfigJson(JSON.stringify(Object.fromEntries(wanted.map(([key, value]) => [key, configJson(value)]))));
    }

    async setConfigValue(key: string, value: string): Promise<void> {
        await this.stack.setConfig(key, { value, secret: false });
    }

    async outputs(): Promise<Record<string, unknown>> {
        const outputs: Record<string, unknown> = {};
        for (const [key, output] of Object.entries(await this.stack.outputs())) outputs[key] = output.value;
        return outputs;
    }

    async preview(options: OperationOptions): Promise<PreviewOutcome> {
        const result = await this.stack.preview({
            policyPacks: options.policyPacks,
            onOutput: options.onOutput,
            onEvent: options.onEvent,
        });
        return { changeSummary: result.changeSummary };
    }

    async up(options: OperationOptions): Promise<UpOutcome> {
        const result = await this.stack.up({
            policyPacks: options.policyPacks,
            onOutput: options.onOutput,
            onEvent: options.onEvent,
        });
        const outputs: Record<string, unknown> = {};
        for (const [key, output] of Object.entries(result.outputs)) outputs[key] = output.value;
        return { outputs, resourceChanges: result.summary.resourceChanges };
    }

    async destroy(options: OperationOptions): Promise<DestroyOutcome> {
        const result = await this.stack.destroy({ onOutput: options.onOutput, onEvent: options.onEvent });
        return { resourceChanges: result.summary.resourceChanges };
    }
}
