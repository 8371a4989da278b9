// testhost.sh run as a child process with a state dir of its own, for the suites that test
// testhost.sh itself (freshMachine, cachedRoot) rather than boot hosts through the runner.
import { spawn } from "child_process";
import * as path from "path";
import { PROJECT_DIR } from "../../tools/local/runnerState";

const TESTHOST = path.join(PROJECT_DIR, "tools", "local", "testhost.sh");

/** Runs testhost.sh with its own state dir; resolves with the exit code and both outputs. */
export function testhost(
    stateDir: string,
    args: string[],
    opts: { detached?: boolean; onSpawn?: (pid: number) => void } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
    return new Promise((resolve) => {
        const child = spawn("bash", [TESTHOST, ...args], {
            env: { ...process.env, WS_STATE_DIR: stateDir },
            stdio: ["ignore", "pipe", "pipe"],
            detached: opts.detached ?? false,
            timeout: 300_000,
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.on("close", (code, signal) => resolve({ code, signal, out, err }));
        if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    });
}
