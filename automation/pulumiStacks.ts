// The StackProvider backed by the Pulumi Automation API and the Pulumi CLI on PATH.
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { DestroyOutcome, OperationOptions, PreviewOutcome, StackHandle, StackProvider, UpOutcome } from "./stacks";

/**
 * `workDir` must be the project directory (the one holding Pulumi.yaml): the CLI then reads
 * Pulumi.<stack>.yaml from it by itself, so an env stack needs no config set from here.
 * The backend and the secrets passphrase come from the environment (PULUMI_BACKEND_URL,
 * PULUMI_CONFIG_PASSPHRASE), like every other Pulumi command.
 */
export function pulumiStackProvider(workDir: string): StackProvider {
    return {
        async createOrSelect(stackName: string): Promise<StackHandle> {
            try {
                return new PulumiStackHandle(await LocalWorkspace.createOrSelectStack({ stackName, workDir }));
            } catch (err) {
                if (/ENOENT: pulumi/.test(String(err))) {
                    throw new Error("the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/iac/download-install/) and run again", { cause: err });
                }
                throw err;
            }
        },
    };
}

class PulumiStackHandle implements StackHandle {
    constructor(private readonly stack: Stack) {}

    get name(): string {
        return this.stack.name;
    }

    async replaceConfig(config: Record<string, string>): Promise<void> {
        const current = await this.stack.getAllConfig();
        const stale = Object.keys(current).filter((key) => !(key in config));
        if (stale.length) await this.stack.removeAllConfig(stale);
        const wanted = Object.entries(config).filter(([key, value]) => current[key]?.value !== value || current[key]?.secret);
        if (wanted.length) {
            await this.stack.setAllConfig(Object.fromEntries(wanted.map(([key, value]) => [key, { value, secret: false }])));
        }
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
