// Builds the script a stage sends on stdin: its variables as plain shell assignments,
// then the shared lib, then the stage's own script (provisioning/README.md).
// Variables go into the script because sshd drops `environment` (SSH setenv) unless
// AcceptEnv allows it, and argv or the environment would expose secrets.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

export const PROVISIONING_DIR = path.join(__dirname, "..", "provisioning");

/** Quotes a value for bash so that it is never expanded or split. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

const cache = new Map<string, string>();
/** A provisioning file's text (read once: every stage reuses lib.sh). */
export function provisioningFile(file: string): string {
    let text = cache.get(file);
    if (text === undefined) {
        text = fs.readFileSync(path.join(PROVISIONING_DIR, file), "utf8");
        cache.set(file, text);
    }
    return text;
}

export type StageVariables = Record<string, pulumi.Input<string>>;

/** The stage's complete script; secret when any variable is. */
export function assembleScript(scriptFile: string, variables: StageVariables): pulumi.Output<string> {
    return pulumi.all(variables).apply((vars) => {
        for (const name of Object.keys(vars)) {
            if (!/^WS_[A-Z0-9_]+$/.test(name)) throw new Error(`stage variable ${name} must match WS_[A-Z0-9_]+`);
        }
        const assignments = Object.entries(vars).map(([name, value]) => `${name}=${shellQuote(value)}`);
        return [
            "#!/usr/bin/env bash",
            `# workstation stage script, assembled from provisioning/lib.sh and provisioning/${scriptFile}`,
            ...assignments,
            provisioningFile("lib.sh"),
            provisioningFile(scriptFile),
        ].join("\n");
    });
}

export function sha256(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex");
}
