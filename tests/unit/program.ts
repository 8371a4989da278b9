// Runs the real index.ts under the shared mocks with a given config, as `pulumi up`
// would with that stack's config.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "../../tools/shared/stackConfig";
import { registrations, settle } from "./mocks";

export const REPO = path.join(__dirname, "..", "..");

/** The dev stack's config as the CLI would pass it (Pulumi.yaml defaults + Pulumi.dev.yaml). */
export function stackValues(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
    return loadStackConfig(REPO, stack, overrides).values;
}

/** Loads index.ts afresh with exactly these config values; returns its exports once registrations settle. */
export async function runProgram(values: Record<string, string>): Promise<Record<string, pulumi.Output<unknown>>> {
    registrations.length = 0;
    pulumi.runtime.setAllConfig(values, []);
    const index = require.resolve("../../index");
    delete require.cache[index];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exports = require(index) as Record<string, pulumi.Output<unknown>>;
    await settle();
    return exports;
}
