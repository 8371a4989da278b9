// The fault suite's pieces: the runner as the e2e drives it, commands on a test host as the
// workstation user, the home marker, and the results file. Host names start with `wsflt`
// so that the suite's hosts never collide with the shared suites' (see tools/local/README.md).
import * as assert from "assert";
import { ChildProcess, execFile, spawn } from "child_process";
import { echoIndented, runTracked, startRunner, stopActiveRunner } from "../../tools/shared/runnerProcess";
import * as fs from "fs";
import * as path from "path";
import type { RunRecord } from "../../tools/local/programRun";
import { allVolumeFiles, HostState, volumeOwner } from "../../tools/local/runnerState";
import { destroyVolume } from "../../tools/local/volume";
import { sshExec } from "../../tools/local/sshExec";
import { listHosts, stopHost, TestHost } from "../../tools/local/testHost";
import { writeReadmeTable } from "./table";

export const RESULTS_FILE = path.join(__dirname, "results.json");

/** A smaller stack for faults that need no desktop and one IDE: a fault run costs minutes, not ten. */
export const SMALL_STACK = ["--stack", "dev", "--set", `ides=["vscode"]`, "--set", "desktop=false"];

export interface RunnerRun {
    code: number;
    output: string;
    record: RunRecord;
    seconds: number;
}

/** Stops a runner still going (a test timeout) with its program child. */
export { stopActiveRunner };

/** `npm run local -- ARGS` for host NAME, as the e2e runs it; returns its exit, output and run record. */
export function runRunner(name: string, args: string[]): Promise<RunnerRun> {
    const started = Date.now();
    return runTracked(args, process.env.WS_FAULTS_VERBOSE ? echoIndented : undefined).then(({ code, output }) => {
        const record = new HostState(name).readRun<RunRecord>();
        if (!record || record.startedAt < started) {
            throw new Error(`the runner (exit ${code}) left no run record for ${name}:\n${output.slice(-3000)}`);
        }
        return { code: code ?? 1, output, record, seconds: (Date.now() - started) / 1000 };
    });
}

/** A script on host NAME as root, through the workstation user's key and sudo (works after harden too). */
export async function onHost(name: string, ip: string, script: string): Promise<string> {
    const key = new HostState(name).readSecrets().keys["ws-key"].privateKeyOpenssh;
    const res = await sshExec(
        { host: ip, user: "dev", privateKey: key },
        { command: "sudo -n bash -s", stdin: `set -euo pipefail\n${script}\n`, dialErrorLimit: 3 },
    );
    return res.stdout;
}

export const MARKER = "/home/dev/fault-marker.txt";

/** Puts a file of the user's in the home, to be found intact after the fault and the next run. */
export async function writeMarker(name: string, ip: string, text: string): Promise<void> {
    await onHost(name, ip, `printf '%s\\n' '${text}' > ${MARKER} && chown dev:dev ${MARKER}`);
}

/**
 * The e2e's host checks that a small stack must pass: every stage ok, key-only SSH without
 * root, sudo, the IDE's command, the report; and the marker intact.
 */
export async function assertConverged(name: string, run: RunnerRun, markerText: string, ides: string[] = ["code"]): Promise<void> {
    assert.strictEqual(run.code, 0, `the next run did not converge (exit ${run.code}): ${run.record.error ?? ""}`);
    for (const s of run.record.stages) assert.strictEqual(s.ok, true, `${s.stage}: ${s.error ?? ""}`);
    const ip = run.record.host!.ip;
    const settings = (await onHost(name, ip, "sshd -T | grep -E '^(passwordauthentication|permitrootlogin|kbdinteractiveauthentication) ' | sort"))
        .trim()
        .split("\n");
    assert.deepStrictEqual(settings, ["kbdinteractiveauthentication no", "passwordauthentication no", "permitrootlogin no"]);
    const found = (await onHost(name, ip, `for b in ${ides.join(" ")}; do command -v "$b"; done`)).trim().split("\n");
    assert.deepStrictEqual(
        found.map((p) => path.basename(p)),
        ides,
    );
    assert.strictEqual((await onHost(name, ip, "test -s /var/log/workstation/performance-report.json && echo report")).trim(), "report");
    assert.strictEqual((await onHost(name, ip, "dpkg --audit && echo clean")).trim(), "clean", "dpkg left packages half done");
    assert.strictEqual(
        await onHost(name, ip, `cat ${MARKER}; stat -c %U ${MARKER}`),
        `${markerText}\ndev\n`,
        "the user's file in the home was lost or changed",
    );
}

export interface FaultResult {
    fault: string;
    stack: string;
    outcome: string;
    /** Seconds from the start of the faulted run to the end of the run that converged. */
    secondsToConverge: number;
    faultedRunSeconds: number;
    convergingRunSeconds: number;
    at: string;
}

/** Records one fault's outcome in the results file (one entry per fault, the latest run's). */
export function recordResult(result: FaultResult): void {
    let all: Record<string, FaultResult> = {};
    if (fs.existsSync(RESULTS_FILE)) all = JSON.parse(fs.readFileSync(RESULTS_FILE, "utf8")) as Record<string, FaultResult>;
    all[result.fault] = result;
    const sorted = Object.fromEntries(
        Object.keys(all)
            .sort()
            .map((k) => [k, all[k]]),
    );
    fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(sorted, null, 2)}\n`);
    writeReadmeTable(RESULTS_FILE);
}

/**
 * Waits until test host NAME is up (listed by testhost.sh), polling every 250 ms; fails at
 * once when RUNNING (the runner that boots it) ends first, e.g. because the boot failed.
 */
export async function whenHostUp(name: string, running: Promise<RunnerRun>, timeoutMs = 10 * 60 * 1000): Promise<TestHost> {
    const until = Date.now() + timeoutMs;
    let ended: RunnerRun | Error | undefined;
    running.then(
        (r) => (ended = r),
        (e: Error) => (ended = e),
    );
    while (Date.now() < until) {
        if (ended)
            throw new Error(`the runner ended before ${name} was up: ${ended instanceof Error ? ended.message : (ended.record.error ?? `exit ${ended.code}`)}`);
        // `testhost.sh list` fails while another suite's host is half made (no host.json
        // yet); that is no answer about this host, so ask again.
        const host = (await listHosts().catch(() => [] as TestHost[])).find((h) => h.name === name);
        if (host) return host;
        await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`test host ${name} did not come up within ${timeoutMs / 1000} s`);
}

/** The PID (on this machine) of the host's init: the systemd-nspawn process's child. */
export function containerInit(host: TestHost): number {
    const children = fs.readFileSync(`/proc/${host.pid}/task/${host.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    if (children.length !== 1) throw new Error(`systemd-nspawn ${host.pid} of ${host.name} has children ${JSON.stringify(children)}, expected its init only`);
    return children[0];
}

/**
 * Starts SCRIPT inside the host (every namespace of its init, so its PIDs and locks are the
 * host's own, as a process of the host's would be), detached from the suite; resolves with its exit.
 */
export function inContainer(host: TestHost, script: string): { exit: Promise<number>; child: ChildProcess } {
    const child = spawn("nsenter", ["-t", String(containerInit(host)), "-a", "--", "bash", "-c", script], { stdio: ["ignore", "inherit", "inherit"] });
    return { child, exit: new Promise((resolve) => child.on("exit", (code) => resolve(code ?? 1))) };
}

/** SCRIPT inside the host (as inContainer), waited for: its exit code and its output. */
export function inContainerOutput(host: TestHost, script: string, timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        execFile(
            "nsenter",
            ["-t", String(containerInit(host)), "-a", "--", "bash", "-c", script],
            { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
            (err, stdout, stderr) => {
                if (err && typeof err.code !== "number") reject(new Error(`nsenter into ${host.name} failed: ${err.message}`));
                else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
            },
        );
    });
}

/**
 * Polls SCRIPT inside the host every POLL ms until it exits 0 (resolves with its output),
 * or fails when RUNNING (the runner) ends first or TIMEOUT passes: the moment to inject a fault.
 */
export async function whenOnHost(
    host: TestHost,
    script: string,
    running: Promise<RunnerRun>,
    what: string,
    timeoutMs = 10 * 60 * 1000,
    pollMs = 100,
): Promise<string> {
    const until = Date.now() + timeoutMs;
    let ended = false;
    running.then(
        () => (ended = true),
        () => (ended = true),
    );
    while (Date.now() < until) {
        if (ended) throw new Error(`the run ended before ${what}`);
        const res = await inContainerOutput(host, script).catch(() => undefined);
        if (res?.code === 0) return res.stdout;
        await new Promise((r) => setTimeout(r, pollMs));
    }
    throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
}

/**
 * The after-hook of a fault: stops a runner still going, then `npm run local -- --destroy
 * NAME` (the host, its loop device and the stack's volume, the runner's keys), so that no
 * loop device or volume file of the suite outlives it and the next fault's host starts
 * with a fresh home.
 */
export async function destroyFaultHost(name: string): Promise<void> {
    stopActiveRunner();
    if (new HostState(name).readRun<RunRecord>() === undefined) {
        // A runner stopped before its run record: the runner cannot know the stack, so the
        // host goes, and the volumes last attached to it.
        await stopHost(name);
        for (const file of allVolumeFiles()) if (volumeOwner(file) === name) destroyVolume(file);
        new HostState(name).remove();
        return;
    }
    const { code, signal, output } = await startRunner(["--destroy", name]).exited;
    if (code !== 0) throw new Error(`--destroy ${name} failed (exit ${code ?? signal}):\n${output.slice(-3000)}`);
}

/** The seconds from the start of the faulted run to the end of the converging one, and both runs' own. */
export function secondsOf(
    faulted: RunnerRun,
    converging: RunnerRun | undefined,
): Pick<FaultResult, "secondsToConverge" | "faultedRunSeconds" | "convergingRunSeconds"> {
    return {
        secondsToConverge: Math.round(faulted.seconds + (converging?.seconds ?? 0)),
        faultedRunSeconds: Math.round(faulted.seconds),
        convergingRunSeconds: Math.round(converging?.seconds ?? 0),
    };
}

/** The failed stage's headline: `[stage] FAILED: stage S, step T, exit code N` (or the stage's error's first line). */
export function failureHeadline(stage: { stage: string; stderr: string; error?: string }): string {
    const text = `${stage.stderr}\n${stage.error ?? ""}`;
    return /\[[\w-]+\] FAILED: [^\n]*/.exec(text)?.[0] ?? (stage.error ?? "").split("\n")[0];
}
