// The bench's own test hosts (naive, floor, warm-up): booted, reached over SSH as root
// with the bench's harness key, and always stopped. The optimized and re-run cases go
// through the runner (local/run.ts) instead, which boots its own host.

import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { generateEd25519 } from "../local/keys";
import { sshExec } from "../local/sshExec";

export const PROJECT_DIR = path.resolve(__dirname, "..");
const TESTHOST = path.join(PROJECT_DIR, "local", "testhost.sh");

export interface BenchHost {
    name: string;
    ip: string;
    gatewayIp: string;
    index: number;
    /** PID of the host's systemd-nspawn. */
    pid: number;
    bootSeconds: number;
}

function testhost(args: string[], timeoutMs = 10 * 60 * 1000): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile("bash", [TESTHOST, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
            if (err) reject(new Error(`local/testhost.sh ${args.join(" ")} failed: ${err.message}\n${stderr.split("\n").slice(-15).join("\n")}`));
            else resolve(stdout);
        });
    });
}

function parseHostLine(line: string): BenchHost {
    const h = JSON.parse(line) as BenchHost;
    return { name: h.name, ip: h.ip, gatewayIp: h.gatewayIp, index: h.index, pid: h.pid, bootSeconds: h.bootSeconds };
}

export async function listHosts(): Promise<BenchHost[]> {
    const out = await testhost(["list"], 30_000);
    return out.split("\n").filter((l) => l.trim().startsWith("{")).map(parseHostLine);
}

/** A key pair for root on the bench's hosts, in a private temp dir removed by `dispose`. */
export class HarnessKey {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-bench-key-"));
    readonly privateKey: string;
    readonly publicKeyFile: string;

    constructor() {
        const key = generateEd25519();
        this.privateKey = key.privateKeyOpenssh;
        this.publicKeyFile = path.join(this.dir, "authorized_keys");
        fs.writeFileSync(this.publicKeyFile, key.publicKeyOpenssh, { mode: 0o600 });
    }

    dispose(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

export async function startHost(name: string, index: number, key: HarnessKey): Promise<BenchHost> {
    const out = await testhost(["up", name, "--index", String(index), "--authorized-keys", key.publicKeyFile]);
    const line = out.split("\n").filter((l) => l.trim().startsWith("{")).pop();
    if (!line) throw new Error(`local/testhost.sh up ${name} printed no host line`);
    return parseHostLine(line);
}

/** Stops a host; never throws (used in cleanup). */
export async function stopHost(name: string): Promise<void> {
    try {
        await testhost(["down", name], 120_000);
    } catch (err) {
        process.stderr.write(`bench: could not stop test host ${name}: ${(err as Error).message}\n`);
    }
}

/** Single-quoted shell assignments, safe for any value. */
export function shellAssignments(vars: Record<string, string>): string {
    return Object.entries(vars)
        .map(([k, v]) => {
            if (!/^[A-Z_][A-Z0-9_]*$/.test(k)) throw new Error(`not a shell variable name: ${k}`);
            return `${k}='${v.replace(/'/g, `'\\''`)}'`;
        })
        .join("\n");
}

/** Runs a bench recipe (bench/NAME) on the host as root with the variables set; its stdout. */
export async function runRecipe(host: BenchHost, key: HarnessKey, recipe: string, vars: Record<string, string>, log: fs.WriteStream, timeoutMs = 45 * 60 * 1000): Promise<string> {
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
