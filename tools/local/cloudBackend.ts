// What the mock cloud (mockCloud.ts) needs from the machine it runs on, and what it records:
// the backend that boots a test host for a droplet, keeps volumes and runs commands over
// SSH (programRun.ts provides the real one, the tests a fake), and the records of a run.
import type { StageTiming } from "../../components/timing";
import type { KeyMaterial, PasswordSpec } from "./keys";
import type { ExecOptions, ExecResult, SshTarget } from "./sshExec";

export interface DropletRequest {
    resourceName: string;
    dropletName: string;
    size: string;
    region: string;
    image: string;
    userData?: string;
    authorizedKeys: string[];
}

export interface VolumeRequest {
    resourceName: string;
    /** DigitalOcean's volume name (the by-id device is named after it). */
    volumeName: string;
    region: string;
    sizeGib: number;
}

export interface DropletHost {
    /** Test host name (for stop/reuse). */
    hostName: string;
    ip: string;
    bootSeconds?: number;
    /** When the droplet came to be (epoch ms): an adopted host's boot; now for a new one. */
    createdAtMs?: number;
}

/** What the mocks need from the world; the runner wires the real ones, unit tests fakes. */
export interface CloudBackend {
    /** Key material for a tls PrivateKey resource (generated, or persisted from an earlier run). */
    keyFor(resourceName: string, algorithm: string): KeyMaterial;
    /** A password for a random RandomPassword resource (generated, or persisted). */
    passwordFor(resourceName: string, spec: PasswordSpec): string;
    /** Boots (or adopts) the host that stands in for the droplet. */
    createDroplet(req: DropletRequest): Promise<DropletHost>;
    /**
     * Bakes the host behind a droplet into an image (testhost.sh bake) under the snapshot id;
     * a later droplet whose `image` is that id boots from it. Absent: snapshots are refused.
     */
    snapshotDroplet?(req: { resourceName: string; hostName: string; snapshotId: string; snapshotName: string }): Promise<void>;
    /** Creates the volume's backing store, or finds the one kept for the stack. */
    createVolume(req: VolumeRequest): Promise<void>;
    /** Attaches the volume to the test host that stands in for the droplet. */
    attachVolume(volumeName: string, hostName: string): Promise<void>;
    /** Runs one remote command; `meta.logging` is the Command's `logging` (`none`: output must not be shown). */
    exec(target: SshTarget, opts: ExecOptions, meta: { name: string; logging?: string }): Promise<ExecResult>;
}

export type CloudEvent =
    | { kind: "resource"; type: string; name: string; detail: string }
    | { kind: "droplet"; name: string; hostName: string; ip: string; bootSeconds?: number }
    | { kind: "stage-start"; name: string; at: number }
    | { kind: "stage-end"; record: StageRecord }
    | { kind: "warning"; name: string; message: string };

export interface StageRecord {
    /** Resource name (`ws-desktop`). */
    name: string;
    /** Stage name from the timing record, else the resource name without its prefix. */
    stage: string;
    /** Local clock, ms since epoch. */
    startedAt: number;
    endedAt: number;
    seconds: number;
    ok: boolean;
    stdout: string;
    stderr: string;
    dials: number;
    timing?: StageTiming;
    result?: unknown;
    error?: string;
    /** The `logging` input: `none` means the stage handles secrets and its output is not shown. */
    logging?: string;
}

export interface ResourceRecord {
    type: string;
    name: string;
    id: string;
    inputs: Record<string, unknown>;
    state: Record<string, unknown>;
}
