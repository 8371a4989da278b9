// The bench's own test hosts (naive, floor, warm-up): booted, reached over SSH as root
// with the bench's harness key, and always stopped. The optimized and re-run cases go
// through the runner (tools/local/run.ts) instead, which boots its own host.

import * as fs from "fs";
import { shellQuote } from "../../components/stageScript";
import * as path from "path";
import { generateEd25519 } from "../local/keys";
import { sshExec } from "../local/sshExec";
import * as testHost from "../local/testHost";
import { listHosts, TestHost } from "../local/testHost";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

export type BenchHost = TestHost;

export { listHosts };

/** A key pair for root on the bench's own hosts; it lives in memory only. */
export class HarnessKey {
    readonly privateKey: string;
    readonly publicKey: string;

    constructor() {
        const key = generateEd25519();
        this.privateKey = key.privateKeyOpenssh;
        this.publicKey = key.publicKeyOpenssh.trim();
    }
}

export function startHost(name: string, index: number, key: HarnessKey): Promise<BenchHost> {
    return testHost.startHost({ name, index, authorizedKeys: [key.publicKey] });
}

/** Stops a host; never throws (used in cleanup). */
export async function stopHost(name: string): Promise<void> {
    try {
        await testHost.stopHost(name);
    } catch (err) {
        process.stderr.write(`bench: could not stop test host ${name}: ${(err as Error).message}\n`);
    }
}

/** Single-quoted shell assignments, safe for any value. */
export function shellAssignments(vars: Record<string, string>): string {
    return Object.entries(vars)
        .map(([k, v]) => {
            if (!/^[A-Z_][A-Z0-9_]*$/.test(k)) throw new Error(`not a shell variable name: ${k}`);
            return `${k}=${shellQuote(v)}`;
        })
        .join("\n");
}

/** Runs a bench recipe (tools/bench/NAME) on the host as root with the variables set; its stdout. */
export async function runRecipe(
    host: BenchHost,
    key: HarnessKey,
    recipe: string,
    vars: Record<string, string>,
    log: fs.WriteStream,
    timeoutMs = 45 * 60 * 1000,
): Promise<string> {
    const script = `${shellAssignments(vars)}\n${fs.readFileSync(path.join(__dirname, recipe), "utf8")}`;
    const r = await sshExec(
        { host: host.ip, user: "root", privateKey: key.privateKey },
        {
            command: "bash -s",
            stdin: script,
            execTimeoutMs: timeoutMs,
            dialErrorLimit: 20,
            onStdout: (s) => log.write(s),
            onStderr: (s) => log.write(s),
        },
    );
    return r.stdout;
}

export interface TimingLine {
    stage: string;
    seconds: number;
}

/** The `::bench-timing::` lines and the `::bench-total::` of a recipe's stdout. */
export function parseRecipeOutput(stdout: string): { stages: TimingLine[]; total?: number } {
    const stages: TimingLine[] = [];
    let total: number | undefined;
    for (const line of stdout.split("\n")) {
        if (line.startsWith("::bench-timing::")) stages.push(JSON.parse(line.slice("::bench-timing::".length)) as TimingLine);
        else if (line.startsWith("::bench-total::")) total = (JSON.parse(line.slice("::bench-total::".length)) as { seconds: number }).seconds;
    }
    return { stages, total };
}
