// The command each stage runs over SSH: the stage script (on stdin) under a time limit
// enforced on the host by provisioning/stage-bound.sh. pulumi-command's
// customTimeouts.create bounds only the SSH dial, so without this a hung stage would run
// until the CI job is killed, leaving the stack locked.
import { StageName } from "./stages";
import { provisioningFile, shellQuote } from "./stageScript";

/** Seconds a stage gets after SIGTERM to exit before whatever is left of it is killed. */
export const KILL_GRACE_SECONDS = 10;

/** stage-bound.sh without its comment lines, to go on the command line. */
function boundScript(): string {
    return provisioningFile("stage-bound.sh")
        .split("\n")
        .filter((line) => line.trim() !== "" && !line.trimStart().startsWith("#"))
        .join("\n");
}

/**
 * `sudo -n bash -c '<stage-bound.sh>' stage-bound STAGE LIMIT GRACE`: runs the script
 * given on stdin as root, and stops it, with every process it started, after
 * `limitSeconds` (exit code 124, and stderr names the stage and the limit).
 */
export function stageCommand(stage: StageName, limitSeconds: number, graceSeconds = KILL_GRACE_SECONDS): string {
    for (const [name, value] of [
        ["limitSeconds", limitSeconds],
        ["graceSeconds", graceSeconds],
    ] as const) {
        if (!Number.isInteger(value) || value < 1) throw new Error(`stage ${stage}: ${name} ${value} is not allowed: a whole number of seconds, 1 or more`);
    }
    return `sudo -n bash -c ${shellQuote(boundScript())} stage-bound ${stage} ${limitSeconds} ${graceSeconds}`;
}
