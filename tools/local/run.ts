// The local target's runner: `npm run local -- [options]`. Runs the unchanged index.ts
// with a stack's config under Pulumi's mock runtime, where the droplet is a fresh
// Debian 13 test host and every remote.Command runs over real SSH (see README,
// "Local target"). Each program run happens in a child process (tools/local/programRun.ts).

import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { EXIT_INDEX_TAKEN } from "./programRun";
import type { ChildJob, RunRecord } from "./programRun";
import { CliOptions, parseArgs, USAGE, UsageError } from "./cli";
import { gatewayFor, nextFreeIndex, standinIdeSources, vethExists } from "./hostChoice";
import { standinDotfilesUrl } from "./standinDotfiles";
import { hostNames, listHosts, stopAllHosts, stopHost } from "./testHost";
import { decodeResolved, formatStackOutputs, Resolved, toPlain } from "./outputs";
import { allVolumeFiles, HostState, knownHosts, PROJECT_DIR, RUNNER_DIR, stackVolumeFiles, VOLUMES_DIR, volumeOwner } from "./runnerState";
import { destroyVolume, releaseVolume } from "./volume";
import { CONFIG_NAMESPACE, configDefaults, parseConfig } from "../../components/config";
import { runCli, usageFailure } from "../shared/cli";
import { listStacks, loadStackConfig } from "../shared/stackConfig";
import { writeTimelinePage } from "../timeline/page";

/** How often a runner tries the next free host index when a runner started at the same time took its own. */
const INDEX_ATTEMPTS = 10;

function stageTable(run: RunRecord): string {
    if (run.stages.length === 0) return `  no stages ran; whole run ${((run.endedAt - run.startedAt) / 1000).toFixed(1)} s`;
    const rows = run.stages
        .slice()
        .sort((a, b) => a.startedAt - b.startedAt)
        .map((s) => {
            const host = s.timing ? `${s.timing.seconds.toFixed(1).padStart(7)} ${s.timing.status}` : "      -";
            return `  ${s.stage.padEnd(16)} ${((s.startedAt - run.startedAt) / 1000).toFixed(1).padStart(7)} ${s.seconds.toFixed(1).padStart(8)} ${host}${s.ok ? "" : "  FAILED"}`;
        });
    const sum = run.stages.reduce((a, s) => a + s.seconds, 0);
    const first = Math.min(...run.stages.map((s) => s.startedAt));
    const last = Math.max(...run.stages.map((s) => s.endedAt));
    return [
        `  ${"stage".padEnd(16)} ${"start".padStart(7)} ${"seconds".padStart(8)} ${"host-s".padStart(7)} status`,
        ...rows,
        `  stages: wall clock ${((last - first) / 1000).toFixed(1)} s, sequential sum ${sum.toFixed(1)} s; whole run ${((run.endedAt - run.startedAt) / 1000).toFixed(1)} s`,
    ].join("\n");
}

function accessHelp(run: RunRecord, state: HostState, username: string, desktop: boolean, knownHostsLine: Resolved | undefined): string {
    const ip = run.host?.ip ?? "?";
    const user = username;
    // The program's knownHosts output pins the host's key, as a user would save it.
    let hostCheck = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null";
    if (typeof knownHostsLine === "string") {
        fs.writeFileSync(state.knownHostsFile, `${knownHostsLine}\n`);
        hostCheck = `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${state.knownHostsFile}`;
    }
    const ssh = `ssh -i ${state.keyFile} ${hostCheck}`;
    const lines = [`Test host ${run.hostName} is running at ${ip}.`, `  ssh:          ${ssh} ${user}@${ip}`];
    if (desktop)
        lines.push(
            `  RDP tunnel:   ${ssh} -N -L 3389:127.0.0.1:3389 ${user}@${ip}   (then RDP to localhost:3389 as ${user}; the password is under "passwords" in ${state.secretsFile})`,
        );
    lines.push(`  run again:    npm run local -- --reuse ${run.hostName}`);
    lines.push(`  stop it:      npm run local -- --down ${run.hostName}`);
    return lines.join("\n");
}

/**
 * One line per failed resource: the headline of each failure, not the output tails, which
 * were shown as the stage failed (or withheld, for a stage that handles secrets).
 */
export function failureSummary(error: string): string {
    const lines = error.split("\n");
    const headlines = lines.filter((l) => /^\S+ \([^)]+\): /.test(l));
    return (headlines.length ? [lines[0], ...headlines.map((l) => `  ${l}`)] : lines.slice(0, 5)).join("\n");
}

function runChild(job: ChildJob, jobFile: string): Promise<number> {
    fs.writeFileSync(jobFile, JSON.stringify(job, null, 2), { mode: 0o600 });
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "programRun.ts"), jobFile], {
            cwd: PROJECT_DIR,
            stdio: "inherit",
            env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
        });
        child.on("error", reject);
        child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
}

/** Releases the loop devices of the volumes last attached to `hostName` (its host is gone). */
function releaseVolumesOf(hostName: string): void {
    for (const file of allVolumeFiles()) if (volumeOwner(file) === hostName) releaseVolume(file);
}

async function up(opts: CliOptions): Promise<number> {
    const hostName = opts.name!;
    const state = new HostState(hostName);
    const running = await listHosts();
    const t0 = Date.now();
    let index: number;
    // --stop and --start act on the stack the host last ran, with the keys kept for it.
    if (opts.mode === "stop" || opts.mode === "start") {
        const last = state.readRun<RunRecord>();
        if (!state.exists() || !last) {
            throw new UsageError(
                `--${opts.mode} ${hostName}: the runner kept no keys or run for it (${state.dir}); start one with npm run local -- --name ${hostName}`,
            );
        }
        opts.stack = last.stack;
    }
    if (opts.mode === "start") {
        if (running.some((h) => h.name === hostName)) {
            throw new UsageError(`--start ${hostName}: it is running; --stop ${hostName} first, or --reuse ${hostName}`);
        }
        if ((await hostNames()).includes(hostName)) await stopHost(hostName);
        index = nextFreeIndex(running);
    } else if (opts.mode === "stop") {
        // No droplet is created with running: false; the index only names the gateway in the config.
        index = running.find((h) => h.name === hostName)?.index ?? nextFreeIndex(running);
    } else if (opts.mode === "reuse") {
        const host = running.find((h) => h.name === hostName);
        if (!host) {
            throw new UsageError(`--reuse ${hostName}: no such running test host; running: ${running.map((h) => h.name).join(", ") || "none"}`);
        }
        if (!state.exists()) {
            throw new UsageError(
                `--reuse ${hostName}: the runner kept no keys for it (${state.secretsFile}); only hosts started by npm run local can be reused`,
            );
        }
        index = host.index;
    } else {
        if (running.some((h) => h.name === hostName)) {
            throw new UsageError(`--name ${hostName}: a test host of that name is running; use --reuse ${hostName}, --down ${hostName}, or another --name`);
        }
        // A host of that name that never came up was left by a runner killed while booting it.
        if ((await hostNames()).includes(hostName)) await stopHost(hostName);
        state.remove(); // keys of a host that is gone
        index = nextFreeIndex(running);
    }

    // The engine reruns a command whose triggers changed; under the runner nothing is
    // remembered between runs, so every command runs anyway. The new provisioningRun
    // makes the triggers change as they would with `pulumi up`.
    const provisioningRun = opts.mode === "reuse" ? `local-${Date.now()}` : undefined;
    const runOnce = (hostIndex: number): Promise<number> => {
        const overrides: Record<string, unknown> = { ...opts.set };
        if (opts.standin) overrides.ideSources = standinIdeSources(hostIndex);
        if (opts.standinDotfiles) overrides.dotfiles = { url: standinDotfilesUrl(gatewayFor(hostIndex)) };
        if (provisioningRun !== undefined) overrides.provisioningRun = provisioningRun;
        if (opts.mode === "stop") overrides.running = false;
        if (opts.mode === "start") overrides.running = true;
        const config = loadStackConfig(PROJECT_DIR, opts.stack, overrides);
        for (const w of config.warnings) process.stderr.write(`warning: ${w}\n`);
        fs.mkdirSync(state.dir, { recursive: true, mode: 0o700 });
        const job: ChildJob = {
            programPath: path.join(PROJECT_DIR, "index.ts"),
            project: config.project,
            stack: opts.stack,
            config: config.values,
            secretKeys: config.secretKeys,
            hostName,
            hostIndex,
            reuse: opts.mode === "reuse",
            keepKeys: opts.mode === "stop" || opts.mode === "start",
            stateRoot: RUNNER_DIR,
            volumesRoot: VOLUMES_DIR,
            standinRepo: opts.standin,
            standinDotfiles: opts.standinDotfiles ?? false,
            verbose: opts.verbose,
        };
        const verb =
            { reuse: "Re-running", stop: "Stopping (running: false): running", start: "Starting (running: true): running" }[opts.mode as string] ?? "Running";
        process.stdout.write(`${verb} the program with stack ${opts.stack} on test host ${hostName}\n`);
        return runChild(job, path.join(state.dir, "job.json"));
    };
    let code = await runOnce(index);
    // Another runner took the index as this one booted: nothing ran, so start over on the next.
    // Runners started together all see the same lowest free index and all but one lose it;
    // each loss marks one more index taken, so N runners at once need up to N attempts.
    const taken = new Set<number>();
    for (let attempt = 1; code === EXIT_INDEX_TAKEN && attempt < INDEX_ATTEMPTS; attempt++) {
        if (opts.mode !== "start") state.remove();
        taken.add(index);
        index = nextFreeIndex(await listHosts(), (i) => taken.has(i) || vethExists(i));
        code = await runOnce(index);
    }
    const config = loadStackConfig(PROJECT_DIR, opts.stack);
    const run = state.readRun<RunRecord>();
    if (!run || run.startedAt < Date.now() - 24 * 3600 * 1000) {
        process.stderr.write(`the program run ended (exit ${code}) without a run record\n`);
        return code || 1;
    }
    const outputs = decodeResolved(run.outputs) as Record<string, Resolved>;
    // Stopped (running: false): the program has no droplet, so the test host that stood for
    // it goes; the volume stays, still behind its loop device (a volume exists without a
    // droplet), and keys and password stay. Only --down and --destroy release the loop device.
    if (run.ok && outputs.state === "stopped") {
        if ((await hostNames()).includes(hostName)) await stopHost(hostName);
        run.host = undefined;
    }
    if (run.ok && (opts.mode === "stop" || opts.mode === "start")) {
        const seconds = Math.round((Date.now() - t0) / 100) / 10;
        run.lifecycle = opts.mode === "stop" ? { stopSeconds: seconds } : { startSeconds: seconds };
        process.stdout.write(`\n${opts.mode === "stop" ? "Stopped" : "Started and ready"} in ${seconds.toFixed(1)} s\n`);
    }
    state.writeRun(run);
    process.stdout.write(`\nStages (seconds on this machine; host-s as the host timed itself):\n${stageTable(run)}\n`);
    if (outputs.timings !== undefined) {
        // Beside the run record, so that the picture and the numbers stay together.
        const page = writeTimelinePage(toPlain(outputs, false), path.join(state.dir, "timeline.html"), `${opts.stack} on ${hostName}`);
        process.stdout.write(`\nTimeline picture: ${page}\n`);
    }
    if (run.ok) {
        process.stdout.write(
            `\nOutputs (pulumi stack output --json${opts.showSecrets ? " --show-secrets" : ""}):\n${formatStackOutputs(outputs, opts.showSecrets)}\n`,
        );
    } else {
        process.stderr.write(`\nThe run failed:\n${failureSummary(run.error ?? "unknown error")}\n`);
    }
    if (run.host) {
        // The program's own reading of the stack's config; its defaults when the config was refused.
        let settings: { username: string; desktop: boolean };
        try {
            settings = parseConfig((key) => config.values[`${CONFIG_NAMESPACE}:${key}`], opts.stack);
        } catch {
            settings = configDefaults(opts.stack);
        }
        const username = typeof outputs.username === "string" ? outputs.username : settings.username;
        const desktop = settings.desktop;
        process.stdout.write(`\n${accessHelp(run, state, username, desktop, outputs.knownHosts)}\n`);
    }
    return run.ok ? 0 : code || 1;
}

export async function main(argv: string[]): Promise<number> {
    let opts: CliOptions;
    try {
        opts = parseArgs(argv, listStacks(PROJECT_DIR));
    } catch (err) {
        return usageFailure("npm run local", err, USAGE);
    }
    switch (opts.mode) {
        case "help":
            process.stdout.write(`${USAGE}\n`);
            return 0;
        case "list": {
            const hosts = await listHosts();
            for (const h of hosts) process.stdout.write(`${h.name}\t${h.ip}\t${knownHosts().includes(h.name) ? "runner keys kept" : "no runner keys"}\n`);
            if (hosts.length === 0) process.stdout.write("no test hosts running\n");
            return 0;
        }
        case "down":
            await stopHost(opts.name!);
            releaseVolumesOf(opts.name!);
            new HostState(opts.name!).remove();
            process.stdout.write(`stopped ${opts.name}; the stack's volume is kept (--destroy deletes it)\n`);
            return 0;
        case "destroy": {
            const state = new HostState(opts.name!);
            const stack = state.readRun<RunRecord>()?.stack;
            await stopHost(opts.name!);
            releaseVolumesOf(opts.name!);
            const files = stack === undefined ? [] : stackVolumeFiles(stack);
            for (const file of files) destroyVolume(file);
            state.remove();
            process.stdout.write(
                `destroyed ${opts.name}${files.length ? ` and the volumes of stack ${stack}: ${files.join(", ")}` : "; no volume was kept for it"}\n`,
            );
            return 0;
        }
        case "down-all":
            await stopAllHosts();
            for (const file of allVolumeFiles()) releaseVolume(file);
            for (const h of knownHosts()) new HostState(h).remove();
            process.stdout.write("stopped every test host\n");
            return 0;
        default:
            try {
                return await up(opts);
            } catch (err) {
                return usageFailure("npm run local", err);
            }
    }
}

if (require.main === module) runCli("npm run local", main);
