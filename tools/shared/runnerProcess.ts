// The local runner (`npm run local`, tools/local/run.ts) as a child process, started the
// way the npm script starts it. The e2e, lifecycle and fault suites and the bench all run
// it through here.
import { ChildProcess, spawn } from "child_process";
import * as path from "path";

const PROJECT_DIR = path.join(__dirname, "..", "..");
const RUNNER = path.join(PROJECT_DIR, "tools", "local", "run.ts");

export interface RunnerExit {
    /** The exit code; undefined when a signal ended it. */
    code: number | null;
    signal: NodeJS.Signals | null;
    /** Everything it printed, stdout and stderr interleaved. */
    output: string;
}

export interface RunnerOptions {
    /** Each chunk it prints, as it prints it. */
    onOutput?: (text: string, stream: "stdout" | "stderr") => void;
    /** Its own process group, so that a caller can stop it and its program child together (process.kill(-pid)). */
    detached?: boolean;
}

/** Starts `npm run local -- ARGS`; `exited` resolves when it ends. */
export function startRunner(args: string[], opts: RunnerOptions = {}): { child: ChildProcess; exited: Promise<RunnerExit> } {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", RUNNER, ...args], {
        cwd: PROJECT_DIR,
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
        stdio: ["ignore", "pipe", "pipe"],
        detached: opts.detached ?? false,
    });
    const exited = new Promise<RunnerExit>((resolve, reject) => {
        let output = "";
        const keep = (stream: "stdout" | "stderr") => (d: Buffer) => {
            const text = d.toString();
            output += text;
            opts.onOutput?.(text, stream);
        };
        child.stdout?.on("data", keep("stdout"));
        child.stderr?.on("data", keep("stderr"));
        child.on("error", reject);
        child.on("exit", (code, signal) => resolve({ code, signal, output }));
    });
    return { child, exited };
}

/** The runner a suite started last with runTracked, while it runs. */
let active: ChildProcess | undefined;

/**
 * Runs `npm run local -- ARGS` in its own process group and remembers it until it ends, so
 * that a suite's `after` hook (a test that timed out) can stop it with stopActiveRunner.
 */
export function runTracked(args: string[], onOutput?: RunnerOptions["onOutput"]): Promise<RunnerExit> {
    const { child, exited } = startRunner(args, { detached: true, onOutput });
    active = child;
    return exited.finally(() => {
        if (active === child) active = undefined;
    });
}

/** Stops the runner runTracked started, with its program child, when it still runs. */
export function stopActiveRunner(): void {
    if (active?.pid !== undefined && active.exitCode === null) process.kill(-active.pid, "SIGTERM");
}

/** Echoes runner output indented under a test's name: `| ` before stdout lines, `! ` before stderr lines. */
export function echoIndented(text: string, stream: "stdout" | "stderr"): void {
    process.stdout.write(text.replace(/^(?=.)/gm, stream === "stdout" ? "      | " : "      ! "));
}
