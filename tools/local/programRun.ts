// One program run, in a process of its own (the Pulumi runtime keeps global state):
// `node -r ts-node/register/transpile-only tools/local/programRun.ts JOB.json`. Runs index.ts under
// MockCloud with the real backend (test host, SSH), prints progress per stage, and
// writes the run record (stages, outputs with secrets boxed) to the host's state dir.
// The parent (run.ts) prints the outputs from that record.

import * as fs from "fs";
import { MockCloud, CloudEvent, StageRecord } from "./mockCloud";
import { encodeResolved } from "./outputs";
import { runProgram } from "./program";
import { HostState, setVolumeOwner, volumeFile, volumeOwner } from "./runnerState";
import { attachVolume, createVolumeFile } from "./volume";
import { sshExec } from "./sshExec";
import { DropletHost } from "./mockCloud";
import { gatewayFor } from "./hostChoice";
import type { StandinRepo } from "./standinRepo";
import { serveStandinDotfiles, StandinDotfiles } from "./standinDotfiles";
import * as testHost from "./testHost";

export interface ChildJob {
    programPath: string;
    project: string;
    stack: string;
    config: Record<string, string>;
    secretKeys: string[];
    hostName: string;
    hostIndex: number;
    /** Run against the host that exists (keys from state), instead of booting one. */
    reuse: boolean;
    /**
     * Use the keys and passwords kept for the host, but boot a new one (a start after a
     * stop: the stack's key and password outlive the droplet, as in Pulumi's state).
     */
    keepKeys?: boolean;
    /** Runner state root (.local-target/runner). */
    stateRoot: string;
    /** Where the stacks' volumes are kept (.local-target/volumes). */
    volumesRoot?: string;
    /** Start the stand-in IDE repository on the host's gateway once the host is up. */
    standinRepo: boolean;
    /** Stream each stage's output (except stages that handle secrets). */
    verbose: boolean;
    /** Serve the stand-in dotfiles repository on the host's gateway once the host is up. */
    standinDotfiles?: boolean;
}

/** What a run leaves in run.json. */
export interface RunRecord {
    ok: boolean;
    error?: string;
    stack: string;
    hostName: string;
    reuse: boolean;
    host?: testHost.TestHost;
    startedAt: number;
    endedAt: number;
    /** Outputs with secrets boxed as {"@secret": value} (see outputs.ts decodeResolved). */
    outputs: unknown;
    stages: StageRecord[];
    recorded: { type: string; name: string; id: string; inputs: Record<string, unknown> }[];
    /** What the real provider would warn about (MockCloud.warnings); absent in records of older runs. */
    warnings?: { name: string; message: string }[];
    /** Set by the runner: seconds from the start of `up` to ready (--start), or to the host gone (--stop). */
    lifecycle?: { startSeconds?: number; stopSeconds?: number };
}

/** testhost.sh's refusals when the index is in use: the parent retries with another. */
const INDEX_TAKEN = /index \d+ is used by host|link wsth\d+ exists/;
/** Exit code that tells run.ts to retry with the next free index (nothing ran yet). */
export const EXIT_INDEX_TAKEN = 75;

const RECORDED = new Set(["digitalocean:index/firewall:Firewall", "digitalocean:index/project:Project", "digitalocean:index/monitorAlert:MonitorAlert"]);

function fmt(seconds: number): string {
    return seconds.toFixed(1).padStart(6);
}

/** Writes chunks as whole lines, each prefixed (stages' output interleaves when they run together). */
function lineWriter(prefix: string, to: NodeJS.WriteStream): (chunk: string) => void {
    let pending = "";
    return (chunk) => {
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) to.write(`${prefix}${line}\n`);
    };
}

async function main(): Promise<number> {
    const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as ChildJob;
    const state = new HostState(job.hostName, job.stateRoot);
    const t0 = Date.now();
    const since = (): string => `[${fmt((Date.now() - t0) / 1000)}s]`;
    const out = (line: string): void => {
        process.stdout.write(`${since()} ${line}\n`);
    };
    let host: testHost.TestHost | undefined;
    let repo: StandinRepo | undefined;
    let dotfiles: StandinDotfiles | undefined;
    let indexTaken = false;

    const onEvent = (e: CloudEvent): void => {
        switch (e.kind) {
            case "resource":
                out(`${e.name} (${e.type.split(":").pop()}) ${e.detail}`);
                break;
            case "droplet":
                out(`${e.name} is test host ${e.hostName} at ${e.ip}${e.bootSeconds !== undefined ? ` (booted in ${e.bootSeconds.toFixed(1)} s)` : ""}`);
                break;
            case "stage-start":
                out(`${e.name} started`);
                break;
            case "warning":
                out(`${e.name} WARNING: ${e.message}`);
                break;
            case "stage-end": {
                const r = e.record;
                const hostSide = r.timing ? `, host ${r.timing.seconds.toFixed(1)} s, ${r.timing.status}` : "";
                const dials = r.dials > 1 ? `, ${r.dials} dials` : "";
                if (r.ok) {
                    out(`${r.name} done in ${r.seconds.toFixed(1)} s${hostSide}${dials}`);
                } else if (r.logging === "none") {
                    out(`${r.name} FAILED after ${r.seconds.toFixed(1)} s; its output is withheld (the stage handles secrets), see ${state.runFile}`);
                } else {
                    out(`${r.name} FAILED after ${r.seconds.toFixed(1)} s:\n${r.error ?? ""}`);
                }
                break;
            }
        }
    };

    const cloud = new MockCloud({
        onEvent,
        backend: {
            keyFor: (name) => state.keyFor(name, job.reuse || job.keepKeys === true),
            passwordFor: (name, spec) => state.passwordFor(name, spec, job.reuse || job.keepKeys === true),
            createVolume: async (req) => {
                const file = volumeFile(job.stack, req.volumeName, job.volumesRoot);
                const kept = fs.existsSync(file);
                createVolumeFile(file, req.sizeGib);
                out(`${req.resourceName}: ${kept ? "the stack's volume kept at" : "new blank volume at"} ${file}`);
            },
            attachVolume: async (volumeName, hostName) => {
                if (!host || host.name !== hostName) throw new Error(`volume ${volumeName}: test host ${hostName} is not the one this run booted`);
                const file = volumeFile(job.stack, volumeName, job.volumesRoot);
                // One ext4 mounted by two hosts is corrupted: DigitalOcean attaches a volume to one droplet only.
                const owner = volumeOwner(file);
                if (owner !== undefined && owner !== hostName && (await testHost.listHosts()).some((h) => h.name === owner)) {
                    throw new Error(
                        `volume ${volumeName} is attached to test host ${owner}, which is running; a volume attaches to one droplet (npm run local -- --stop ${owner} or --down ${owner} first)`,
                    );
                }
                const loop = attachVolume(file, volumeName, host);
                setVolumeOwner(file, hostName);
                out(`${volumeName} attached to ${hostName} as ${loop}`);
            },
            createDroplet: async (req): Promise<DropletHost> => {
                if (job.reuse) {
                    const running = (await testHost.listHosts()).find((h) => h.name === job.hostName);
                    if (!running) throw new Error(`test host ${job.hostName} is not running (start one with npm run local)`);
                    host = running;
                    out(
                        `${req.resourceName}: reusing test host ${host.name}; cloud-init does not run again on an existing droplet, so its user data is not re-applied`,
                    );
                } else {
                    const t = Date.now();
                    out(`${req.resourceName}: checking the test host image (the first build takes one to three minutes)`);
                    await testHost.ensureImage();
                    out(
                        `${req.resourceName}: image ready in ${((Date.now() - t) / 1000).toFixed(1)} s; booting test host ${job.hostName} (${req.size}, ${req.image} stands for Debian 13 here)`,
                    );
                    // A droplet whose image is a snapshot id the mock cloud baked boots from that image.
                    const baked = /^[0-9]+$/.test(req.image) ? testHost.snapshotTarball(req.image) : undefined;
                    if (baked !== undefined && !fs.existsSync(baked))
                        throw new Error(`${req.resourceName}: image ${req.image} is no snapshot baked here (no ${baked})`);
                    if (baked) out(`${req.resourceName}: booting from the baked image ${baked}`);
                    try {
                        host = await testHost.startHost({
                            name: job.hostName,
                            index: job.hostIndex,
                            authorizedKeys: req.authorizedKeys,
                            userData: req.userData,
                            image: baked,
                        });
                    } catch (err) {
                        // Another runner took the index between our choice and the boot.
                        if (INDEX_TAKEN.test((err as Error).message)) indexTaken = true;
                        throw err;
                    }
                    // As on a droplet, the user data stays readable at 169.254.169.254 (until harden closes it).
                    await testHost.serveMetadata(host);
                }
                if (host.gatewayIp !== gatewayFor(job.hostIndex)) {
                    throw new Error(`test host ${host.name} has gateway ${host.gatewayIp}, but the IDE sources were set for ${gatewayFor(job.hostIndex)}`);
                }
                if (job.standinRepo) {
                    const t = Date.now();
                    repo = await testHost.serveStandinFor(host);
                    out(`stand-in IDE repository served on ${host.gatewayIp}:${repo.port} (${((Date.now() - t) / 1000).toFixed(1)} s to build)`);
                }
                if (job.standinDotfiles) {
                    dotfiles = await serveStandinDotfiles(host.gatewayIp);
                    out(`stand-in dotfiles repository served at ${dotfiles.url}`);
                }
                // A reused host is an existing droplet: created when it booted, not in this run.
                return {
                    hostName: host.name,
                    ip: host.ip,
                    bootSeconds: job.reuse ? undefined : host.bootSeconds,
                    createdAtMs: job.reuse ? testHost.processStartMs(host.pid) : undefined,
                };
            },
            snapshotDroplet: async (req) => {
                const t = Date.now();
                await testHost.bakeHost(req.hostName, testHost.snapshotTarball(req.snapshotId));
                out(`${req.resourceName}: baked test host ${req.hostName} into snapshot ${req.snapshotId} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
            },
            exec: (target, opts, meta) => {
                // Stream only what the program lets the engine log: `logging: none` marks a stage that handles secrets.
                const stream = job.verbose && meta.logging !== "none";
                return sshExec(target, {
                    ...opts,
                    onStdout: stream ? lineWriter(`${meta.name} | `, process.stdout) : undefined,
                    onStderr: stream ? lineWriter(`${meta.name} ! `, process.stdout) : undefined,
                });
            },
        },
    });

    const startedAt = Date.now();
    let result;
    try {
        result = await runProgram({
            programPath: job.programPath,
            project: job.project,
            stack: job.stack,
            config: job.config,
            secretKeys: job.secretKeys,
            cloud,
        });
    } finally {
        await repo?.close();
        await dotfiles?.close();
    }
    const record: RunRecord = {
        ok: result.ok,
        error: result.error,
        stack: job.stack,
        hostName: job.hostName,
        reuse: job.reuse,
        host,
        startedAt,
        endedAt: Date.now(),
        outputs: encodeResolved(result.outputs),
        stages: cloud.stages,
        recorded: cloud.resources.filter((r) => RECORDED.has(r.type)).map((r) => ({ type: r.type, name: r.name, id: r.id, inputs: r.inputs })),
        warnings: cloud.warnings,
    };
    if (indexTaken && cloud.stages.length === 0) {
        process.stderr.write(`${since()} index ${job.hostIndex} was taken by another host while this one booted\n`);
        return EXIT_INDEX_TAKEN;
    }
    state.writeRun(record);
    if (!result.ok) {
        const names = cloud.failures.map((f) => f.name);
        const what = names.length
            ? `${names.join(", ")} failed (their output is above, unless withheld, and in ${state.runFile})`
            : (result.error ?? "unknown error");
        process.stderr.write(`${since()} the run failed: ${what}\n`);
        return 1;
    }
    out(`all resources done`);
    return 0;
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (err: Error) => {
            process.stderr.write(`local runner: ${err.stack ?? err.message}\n`);
            process.exit(2);
        },
    );
}
