// Rules on workstations started from a baked image (components/image.ts).
import * as command from "@pulumi/command";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { readKnown } from "./shared";

/** What the program puts in system-prep's script when the droplet's image is an image stack's snapshot. */
const BAKED_AT = /^WS_IMAGE_BAKED_AT='([0-9]+)'$/m;
const MAX_AGE = /^WS_IMAGE_MAX_AGE_DAYS='([0-9]+)'$/m;

/** Whole days between a bake (epoch seconds) and now (epoch ms). */
export function imageAgeDays(bakedAt: number, nowMs: number): number {
    return Math.floor((nowMs / 1000 - bakedAt) / 86_400);
}

export const imageNotStale: ResourceValidationPolicy = {
    name: "image-not-stale",
    description:
        "A workstation started from a baked image whose bake is older than imageMaxAgeDays: its start applies the " +
        "security updates published since (slower, and the image misses them until it is baked again). Re-bake the " +
        "image stack (the weekly bake workflow, or its manual run).",
    enforcementLevel: "advisory",
    severity: "medium",
    configSchema: { properties: {} },
    validateResource: validateResourceOfType(command.remote.Command, (cmd, args, reportViolation) => {
        const stdin = readKnown(() => cmd.stdin);
        if (!stdin.known || typeof stdin.value !== "string") return;
        const baked = BAKED_AT.exec(stdin.value);
        const max = MAX_AGE.exec(stdin.value);
        if (!baked || !max) return;
        const age = imageAgeDays(Number(baked[1]), Date.now());
        if (age > Number(max[1])) {
            reportViolation(
                `"${args.name}" starts from an image baked ${age} days ago, more than imageMaxAgeDays (${max[1]}): ` +
                    "every start applies the security updates since; re-bake the image stack.",
            );
        }
    }),
};

export const imagePolicies: ResourceValidationPolicy[] = [imageNotStale];
