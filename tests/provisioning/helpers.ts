// Helpers for the provisioning tests: run bash the way the Pulumi component does
// (variables as plain assignments, then lib.sh, then a stage script, all on stdin of
// `bash -s`), with fake commands earlier on PATH and a temporary WS_LOG_DIR.
import { spawnSync } from "child_process";
import { shellQuote } from "../../components/stageScript";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const PROVISIONING = path.join(__dirname, "..", "..", "provisioning");

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

export function readScript(file: string): string {
    return fs.readFileSync(path.join(PROVISIONING, file), "utf8");
}

const quote = shellQuote;

/** The script as the component assembles it: assignments, lib.sh, then the body. */
export function assemble(vars: Record<string, string>, body: string): string {
    const assignments = Object.entries(vars).map(([k, v]) => `${k}=${quote(v)}`);
    return ["#!/usr/bin/env bash", ...assignments, readScript("lib.sh"), body].join("\n");
}

export function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), `ws-${prefix}-`));
}

/** Writes an executable fake command into dir. */
export function fakeCommand(dir: string, name: string, script: string): void {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, name), `#!/usr/bin/env bash\n${script}\n`, { mode: 0o755 });
}

export interface RunOptions {
    env?: Record<string, string>;
    /** Directories put before the usual PATH (fakes). */
    pathPrefix?: string[];
}

/** Runs `bash -s` with the script on stdin, fakes first on PATH. */
export function runBash(script: string, opts: RunOptions = {}): RunResult {
    const basePath = process.env.PATH ?? "/usr/bin:/bin";
    const res = spawnSync("bash", ["-s"], {
        input: script,
        encoding: "utf8",
        env: {
            PATH: [...(opts.pathPrefix ?? []), basePath].join(":"),
            HOME: os.tmpdir(),
            ...(opts.env ?? {}),
        },
    });
    if (res.error) throw res.error;
    return { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

export interface Step {
    name: string;
    seconds: number;
    status: string;
}

export interface Timing {
    stage: string;
    start: number;
    end: number;
    seconds: number;
    status: string;
    steps: Step[];
}

const TIMING = "::workstation-timing:: ";
const RESULT = "::workstation-result:: ";

/** The timing record: the last stdout line, parsed. Throws when it is not there. */
export function lastTiming(stdout: string): Timing {
    const lines = stdout.trimEnd().split("\n");
    const last = lines[lines.length - 1] ?? "";
    if (!last.startsWith(TIMING)) throw new Error(`last stdout line is not a timing record: ${JSON.stringify(last)}`);
    return JSON.parse(last.slice(TIMING.length)) as Timing;
}

/** The result line's JSON. Throws when there is none. */
export function result<T>(stdout: string): T {
    const line = stdout.split("\n").find((l) => l.startsWith(RESULT));
    if (!line) throw new Error(`no result line in: ${stdout}`);
    return JSON.parse(line.slice(RESULT.length)) as T;
}

export function csvRows(file: string): string[][] {
    return fs
        .readFileSync(file, "utf8")
        .trimEnd()
        .split("\n")
        .map((l) => l.split(","));
}
