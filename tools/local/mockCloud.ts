// The engine and DigitalOcean, played locally: Pulumi mocks that make the program's
// resources real where it matters. Keys and passwords are generated for real, the
// droplet is a test host booted for the purpose, cloud-only resources (firewall,
// project, alerts) are recorded, and every remote.Command runs over real SSH.
//
// Ordering: newResource is async, so a resource's registration completes only when
// its mock resolves; dependents wait on it and independent resources proceed at the
// same time, as they would under the engine.

import * as crypto from "crypto";
import type * as pulumi from "@pulumi/pulumi";
import { DropletSize, sizes } from "../../components/sizes";
import { STAGE_NAMES } from "../../components/stages";
import { RESULT_MARKER, StageTiming, TIMING_MARKER, lastMarkedLine } from "../../components/timing";
import { SECRET_SIG_KEY, SECRET_SIG_VALUE, unwrapSecrets } from "../shared/secrets";
import { VOLUME_MAX_GIB, VOLUME_MIN_GIB, VOLUME_REGIONS, isVolumeName } from "../../components/homeVolume";
import type { CloudBackend, CloudEvent, ResourceRecord, StageRecord } from "./cloudBackend";
import { md5Fingerprint, PasswordSpec } from "./keys";
import { RemoteCommandError, SshTarget } from "./sshExec";

export { SECRET_SIG_KEY, SECRET_SIG_VALUE, unwrapSecrets } from "../shared/secrets";
export { RESULT_MARKER, TIMING_MARKER } from "../../components/timing";
export type { StageTiming } from "../../components/timing";
export type { CloudBackend, CloudEvent, DropletHost, DropletRequest, ResourceRecord, StageRecord, VolumeRequest } from "./cloudBackend";

/** The last line with `marker` in `stdout`, parsed as JSON, or undefined. */
export function parseMarkerLine<T>(stdout: string, marker: string): T | undefined {
    const line = lastMarkedLine(stdout, marker);
    if (line === undefined) return undefined;
    try {
        return JSON.parse(line) as T;
    } catch {
        return undefined;
    }
}

/** One row of the size table (components/sizes.ts). */
export type SizeInfo = DropletSize;

const COMPONENT_PREFIX = "workstation:index:";

/** Types that are only recorded. */
const RECORDED_TYPES = new Set(["digitalocean:index/firewall:Firewall", "digitalocean:index/project:Project", "digitalocean:index/monitorAlert:MonitorAlert"]);

export interface MockCloudOptions {
    backend: CloudBackend;
    /** Size slug to price and shape; defaults to data/do-sizes.json. */
    sizes?: Record<string, SizeInfo>;
    onEvent?: (e: CloudEvent) => void;
    /** Bound on all dial attempts of a command whose dialErrorLimit is -1 and that has no customTimeouts.create. Default 10 min. */
    unlimitedDialTimeoutMs?: number;
}

export function loadSizes(): Record<string, SizeInfo> {
    return sizes().sizes;
}

export class MockCloud implements pulumi.runtime.Mocks {
    readonly resources: ResourceRecord[] = [];
    readonly stages: StageRecord[] = [];
    readonly failures: { type: string; name: string; error: string }[] = [];
    /** What the real provider would warn about, by resource name. */
    readonly warnings: { name: string; message: string }[] = [];
    private readonly sizes: Record<string, SizeInfo>;
    /** Public keys DigitalOcean knows, by fingerprint and by id. */
    private readonly sshKeys = new Map<string, string>();
    private readonly inFlight = new Set<Promise<unknown>>();
    /** additionalSecretOutputs per `type::name`, learnt from the registration request. */
    private readonly secretOutputs = new Map<string, string[]>();
    /** customTimeouts.create per `type::name` in ms, learnt from the registration request. */
    private readonly createTimeouts = new Map<string, number>();
    private nextId = 1;
    /** Volumes and droplets by id, so that an attachment is checked as DigitalOcean checks it. */
    private readonly volumesById = new Map<string, { region: string; name: string }>();
    private readonly dropletsById = new Map<string, { region: string; hostName: string }>();

    constructor(private readonly opts: MockCloudOptions) {
        this.sizes = opts.sizes ?? loadSizes();
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        throw new Error(`local runner: no mock for the function ${args.token}`);
    }

    /**
     * Records the outputs a resource asked to keep secret (`additionalSecretOutputs`).
     * The engine marks them secret; the mock monitor does not pass them to the mocks,
     * so the runner's monitor hook hands them over here.
     */
    noteSecretOutputs(type: string, name: string, outputs: string[]): void {
        this.secretOutputs.set(`${type}::${name}`, outputs);
    }

    /**
     * Records a resource's customTimeouts.create (a Go duration such as "900s" or "15m";
     * empty: none). pulumi-command makes it the deadline of its SSH dial loop, and of
     * nothing else: the command, once started, runs on (so its bound is on the host).
     */
    noteCreateTimeout(type: string, name: string, create: string): void {
        if (create === "") return;
        this.createTimeouts.set(`${type}::${name}`, parseGoDurationMs(create));
    }

    /** Wraps the state's secret outputs so that the SDK deserialises them as secrets. */
    private markSecrets(type: string, name: string, state: Record<string, unknown>): Record<string, unknown> {
        const secret = this.secretOutputs.get(`${type}::${name}`) ?? [];
        const out = { ...state };
        for (const key of secret) {
            const v = out[key];
            if (v === undefined) continue;
            const already = v !== null && typeof v === "object" && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG_VALUE;
            if (!already) out[key] = { [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value: v };
        }
        return out;
    }

    newResource(args: pulumi.runtime.MockResourceArgs): Promise<{ id: string | undefined; state: Record<string, unknown> }> {
        const p = this.dispatch(args)
            .then((r) => ({ id: r.id, state: this.markSecrets(args.type, args.name, r.state) }))
            .then(
                (r) => {
                    this.resources.push({
                        type: args.type,
                        name: args.name,
                        id: r.id ?? "",
                        inputs: unwrapSecrets(args.inputs) as Record<string, unknown>,
                        state: r.state,
                    });
                    return r;
                },
                (err: Error) => {
                    this.failures.push({ type: args.type, name: args.name, error: err.message });
                    throw err;
                },
            );
        const tracked = p.catch(() => undefined);
        this.inFlight.add(tracked);
        void tracked.then(() => this.inFlight.delete(tracked));
        return p;
    }

    /** How many mocks are running now. */
    get busy(): number {
        return this.inFlight.size;
    }

    /** Resolves when no mock is running (for the runner to wait on after a failure). */
    async idle(): Promise<void> {
        while (this.inFlight.size > 0) {
            await Promise.all([...this.inFlight]);
        }
    }

    private id(prefix = ""): string {
        return `${prefix}${this.nextId++}`;
    }

    private emit(e: CloudEvent): void {
        this.opts.onEvent?.(e);
    }

    private warn(name: string, message: string): void {
        this.warnings.push({ name, message });
        this.emit({ kind: "warning", name, message });
    }

    private async dispatch(args: pulumi.runtime.MockResourceArgs): Promise<{ id: string | undefined; state: Record<string, unknown> }> {
        const inputs = unwrapSecrets(args.inputs ?? {}) as Record<string, unknown>;
        if (args.type.startsWith(COMPONENT_PREFIX)) {
            return { id: `${args.name}-component`, state: args.inputs ?? {} };
        }
        switch (args.type) {
            case "tls:index/privateKey:PrivateKey":
                return this.privateKey(args.name, inputs);
            case "random:index/randomPassword:RandomPassword":
                return this.password(args.name, inputs);
            case "digitalocean:index/sshKey:SshKey":
                return this.sshKey(args.name, inputs);
            case "digitalocean:index/droplet:Droplet":
                return this.droplet(args.name, inputs);
            case "digitalocean:index/volume:Volume":
                return this.volume(args.name, inputs);
            case "digitalocean:index/volumeAttachment:VolumeAttachment":
                return this.volumeAttachment(args.name, inputs);
            case "command:remote:Command":
                return this.command(args.name, inputs, args.inputs ?? {});
            case "digitalocean:index/dropletSnapshot:DropletSnapshot":
                return this.dropletSnapshot(args.name, inputs);
        }
        if (RECORDED_TYPES.has(args.type)) {
            const id = crypto.randomUUID();
            this.emit({ kind: "resource", type: args.type, name: args.name, detail: describeRecorded(args.type, inputs) });
            return { id, state: { ...inputs, id, urn: `do:${args.type.split(":").pop()!.toLowerCase()}:${id}` } };
        }
        throw new Error(`local runner: no mock for resource type ${args.type} (${args.name}); add one to tools/local/mockCloud.ts`);
    }

    private privateKey(name: string, inputs: Record<string, unknown>) {
        const algorithm = String(inputs.algorithm ?? "RSA");
        if (algorithm !== "ED25519") {
            throw new Error(`local runner: ${name}: only ED25519 keys are generated locally, got ${algorithm}`);
        }
        const key = this.opts.backend.keyFor(name, algorithm);
        this.emit({ kind: "resource", type: "tls:index/privateKey:PrivateKey", name, detail: `${algorithm} ${key.publicKeyFingerprintSha256}` });
        return Promise.resolve({ id: this.id("key-"), state: { ...inputs, ...key } });
    }

    private password(name: string, inputs: Record<string, unknown>) {
        const result = this.opts.backend.passwordFor(name, inputs as PasswordSpec);
        this.emit({ kind: "resource", type: "random:index/randomPassword:RandomPassword", name, detail: `${result.length} characters` });
        return Promise.resolve({ id: this.id("password-"), state: { ...inputs, result, bcryptHash: "" } });
    }

    private sshKey(name: string, inputs: Record<string, unknown>) {
        const publicKey = String(inputs.publicKey ?? "");
        if (!publicKey.startsWith("ssh-")) throw new Error(`local runner: ${name}: publicKey is not an OpenSSH public key`);
        const fingerprint = md5Fingerprint(publicKey);
        const id = String(40000000 + this.nextId++);
        this.sshKeys.set(fingerprint, publicKey);
        this.sshKeys.set(id, publicKey);
        this.emit({ kind: "resource", type: "digitalocean:index/sshKey:SshKey", name, detail: `${inputs.name ?? name} ${fingerprint}` });
        return Promise.resolve({ id, state: { ...inputs, fingerprint, id } });
    }

    private async droplet(name: string, inputs: Record<string, unknown>) {
        const size = String(inputs.size ?? "");
        const info = this.sizes[size];
        if (!info) throw new Error(`local runner: ${name}: size ${JSON.stringify(size)} is not in data/do-sizes.json`);
        const keys: string[] = [];
        for (const ref of (inputs.sshKeys as unknown[] | undefined) ?? []) {
            const key = this.sshKeys.get(String(ref));
            if (key) keys.push(key);
            else
                this.emit({
                    kind: "resource",
                    type: "digitalocean:index/droplet:Droplet",
                    name,
                    detail: `ssh key ${String(ref)} is not registered here; skipped`,
                });
        }
        if (keys.length === 0) throw new Error(`local runner: ${name}: none of the droplet's sshKeys was registered by an SshKey resource`);
        const host = await this.opts.backend.createDroplet({
            resourceName: name,
            dropletName: String(inputs.name ?? name),
            size,
            region: String(inputs.region ?? ""),
            image: String(inputs.image ?? ""),
            userData: inputs.userData === undefined ? undefined : String(inputs.userData),
            authorizedKeys: keys,
        });
        this.emit({ kind: "droplet", name, hostName: host.hostName, ip: host.ip, bootSeconds: host.bootSeconds });
        const id = String(500000000 + this.nextId++);
        this.dropletsById.set(id, { region: String(inputs.region ?? ""), hostName: host.hostName });
        // As the provider reports it: the size's price; backups are billed on top and not included.
        const priceMonthly = info.priceMonthly;
        return {
            id,
            state: {
                ...inputs,
                id,
                urn: `do:droplet:${id}`,
                dropletUrn: `do:droplet:${id}`,
                ipv4Address: host.ip,
                ipv4AddressPrivate: host.ip,
                priceMonthly,
                priceHourly: Math.round((priceMonthly / 672) * 100000) / 100000,
                vcpus: info.vcpus,
                memory: info.memoryMb,
                disk: info.diskGb,
                status: "active",
                locked: false,
                createdAt: new Date(host.createdAtMs ?? Date.now()).toISOString(),
            },
        };
    }

    /** As the provider: droplet_id and name are required, and the droplet must exist. */
    private async dropletSnapshot(name: string, inputs: Record<string, unknown>) {
        const dropletId = String(inputs.dropletId ?? "");
        const snapshotName = String(inputs.name ?? "");
        if (!dropletId) throw new Error(`local runner: ${name}: dropletId is required`);
        if (!snapshotName) throw new Error(`local runner: ${name}: name is required`);
        const hostName = this.dropletsById.get(dropletId)?.hostName;
        if (!hostName) throw new Error(`local runner: ${name}: droplet ${dropletId} does not exist (404 from the API)`);
        if (!this.opts.backend.snapshotDroplet) throw new Error(`local runner: ${name}: this backend cannot take snapshots`);
        // Numeric like DigitalOcean's, and unique across runs: a later run boots from it by id.
        const id = String(Date.now());
        await this.opts.backend.snapshotDroplet({ resourceName: name, hostName, snapshotId: id, snapshotName });
        this.emit({
            kind: "resource",
            type: "digitalocean:index/dropletSnapshot:DropletSnapshot",
            name,
            detail: `${snapshotName} = ${id} (host ${hostName} baked)`,
        });
        return { id, state: { ...inputs, id, createdAt: new Date().toISOString(), regions: ["local"], minDiskSize: 0, size: 0 } };
    }

    /** What DigitalOcean's API refuses when a volume is created, then the backing store. */
    private async volume(name: string, inputs: Record<string, unknown>) {
        const volumeName = String(inputs.name ?? "");
        if (!isVolumeName(volumeName))
            throw new Error(`local runner: ${name}: volume name ${JSON.stringify(volumeName)} is not lower-case letters, digits and dashes of at most 64`);
        const region = String(inputs.region ?? "");
        if (!VOLUME_REGIONS.includes(region))
            throw new Error(`local runner: ${name}: region ${JSON.stringify(region)} offers no volumes; allowed: ${VOLUME_REGIONS.join(", ")}`);
        const size = inputs.size;
        if (typeof size !== "number" || !Number.isInteger(size) || size < VOLUME_MIN_GIB || size > VOLUME_MAX_GIB) {
            throw new Error(`local runner: ${name}: size ${JSON.stringify(size)} is not a whole number of GiB in ${VOLUME_MIN_GIB}..${VOLUME_MAX_GIB}`);
        }
        if (inputs.initialFilesystemType !== undefined || inputs.snapshotId !== undefined) {
            throw new Error(`local runner: ${name}: the local volume is created blank; initialFilesystemType and snapshotId are not simulated`);
        }
        await this.opts.backend.createVolume({ resourceName: name, volumeName, region, sizeGib: size });
        const id = crypto.randomUUID();
        this.volumesById.set(id, { region, name: volumeName });
        this.emit({ kind: "resource", type: "digitalocean:index/volume:Volume", name, detail: `${volumeName} ${size} GiB in ${region}` });
        return { id, state: { ...inputs, id, urn: `do:volume:${id}`, volumeUrn: `do:volume:${id}`, dropletIds: [] } };
    }

    /** An attachment needs a droplet and a volume that exist, in the same region. */
    private async volumeAttachment(name: string, inputs: Record<string, unknown>) {
        const droplet = this.dropletsById.get(String(inputs.dropletId));
        const volume = this.volumesById.get(String(inputs.volumeId));
        if (!droplet) throw new Error(`local runner: ${name}: no droplet ${JSON.stringify(inputs.dropletId)}`);
        if (!volume) throw new Error(`local runner: ${name}: no volume ${JSON.stringify(inputs.volumeId)}`);
        if (droplet.region !== volume.region) {
            throw new Error(`local runner: ${name}: volume in ${volume.region}, droplet in ${droplet.region}; they must share a region`);
        }
        await this.opts.backend.attachVolume(volume.name, droplet.hostName);
        this.emit({ kind: "resource", type: "digitalocean:index/volumeAttachment:VolumeAttachment", name, detail: `${volume.name} on ${droplet.hostName}` });
        const id = `${inputs.dropletId}-${inputs.volumeId}`;
        return { id, state: { ...inputs, id } };
    }

    private async command(name: string, inputs: Record<string, unknown>, rawInputs: Record<string, unknown>) {
        const conn = (inputs.connection ?? {}) as Record<string, unknown>;
        const create = inputs.create;
        if (typeof create !== "string" || create === "") throw new Error(`local runner: ${name}: no create command`);
        if (typeof conn.host !== "string" || conn.host === "") throw new Error(`local runner: ${name}: connection has no host`);
        const target: SshTarget = {
            host: conn.host,
            port: conn.port === undefined ? 22 : Number(conn.port),
            user: typeof conn.user === "string" ? conn.user : "root",
            privateKey: typeof conn.privateKey === "string" ? conn.privateKey : undefined,
            password: typeof conn.password === "string" ? conn.password : undefined,
            hostKey: typeof conn.hostKey === "string" ? conn.hostKey : undefined,
            label: name,
        };
        const dialErrorLimit = conn.dialErrorLimit === undefined ? 10 : Number(conn.dialErrorLimit);
        const perDialTimeout = conn.perDialTimeout === undefined ? 15 : Number(conn.perDialTimeout);
        const stdin = typeof inputs.stdin === "string" ? inputs.stdin : undefined;
        if (inputs.addPreviousOutputInEnv !== false) {
            // The runner only creates, and a create has no previous output; on an update the
            // provider would send it, and warn for each variable sshd refuses (AcceptEnv).
            this.warn(
                name,
                "addPreviousOutputInEnv is not false: on every update pulumi-command would send the previous stdout and " +
                    "stderr as the SSH environment variables PULUMI_COMMAND_STDOUT and PULUMI_COMMAND_STDERR, which sshd refuses " +
                    "unless AcceptEnv allows them, and warn: \"Unable to set 'PULUMI_COMMAND_STDOUT'. This only works if your SSH " +
                    'server is configured to accept these variables via AcceptEnv." Set addPreviousOutputInEnv: false.',
            );
        }
        const createTimeoutMs = this.createTimeouts.get(`command:remote:Command::${name}`);
        const startedAt = Date.now();
        this.emit({ kind: "stage-start", name, at: startedAt });
        const record: StageRecord = {
            name,
            stage: STAGE_NAMES.find((stage) => name.endsWith(`-${stage}`)) ?? name.replace(/^[^-]+-/, ""),
            startedAt,
            endedAt: startedAt,
            seconds: 0,
            ok: false,
            stdout: "",
            stderr: "",
            dials: 0,
            logging: typeof inputs.logging === "string" ? inputs.logging : undefined,
        };
        try {
            const res = await this.opts.backend.exec(
                target,
                {
                    command: create,
                    stdin,
                    dialErrorLimit,
                    perDialTimeout,
                    // As the provider: the create timeout is the dial loop's deadline, whatever the limit.
                    totalDialTimeoutMs: createTimeoutMs ?? (dialErrorLimit < 0 ? (this.opts.unlimitedDialTimeoutMs ?? 10 * 60 * 1000) : undefined),
                },
                { name, logging: record.logging },
            );
            Object.assign(record, { ok: true, stdout: res.stdout, stderr: res.stderr, dials: res.dials });
        } catch (err) {
            const e = err as Error;
            record.error = e.message;
            if (err instanceof RemoteCommandError) {
                Object.assign(record, { stdout: err.result.stdout, stderr: err.result.stderr, dials: err.result.dials });
            }
        }
        record.endedAt = Date.now();
        record.seconds = (record.endedAt - startedAt) / 1000;
        record.timing = parseMarkerLine<StageTiming>(record.stdout, TIMING_MARKER);
        record.result = parseMarkerLine(record.stdout, RESULT_MARKER);
        if (record.timing?.stage) record.stage = record.timing.stage;
        this.stages.push(record);
        this.emit({ kind: "stage-end", record });
        if (!record.ok) {
            throw new Error(`${name}: ${record.error}`);
        }
        // Echo the inputs as the provider does (secret wrappers kept), plus the outputs.
        return { id: this.id(`${name}-`), state: { ...rawInputs, stdout: record.stdout, stderr: record.stderr } };
    }
}

/** A Go duration ("900s", "15m", "1h30m", "1.5h") in ms, as customTimeouts carries it. */
export function parseGoDurationMs(text: string): number {
    const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) {
        throw new Error(`customTimeouts value ${JSON.stringify(text)} is not a duration like 900s, 15m or 1h30m`);
    }
    return parts.reduce((ms, p) => ms + Number(p[1]) * units[p[2]], 0);
}

function describeRecorded(type: string, inputs: Record<string, unknown>): string {
    if (type.endsWith("firewall:Firewall")) {
        const rules = (inputs.inboundRules as { protocol?: string; portRange?: string; sourceAddresses?: string[] }[] | undefined) ?? [];
        const inbound = rules.map((r) => `${r.protocol ?? "?"}/${r.portRange ?? "all"} from ${(r.sourceAddresses ?? []).join(",") || "-"}`).join("; ");
        return `${inputs.name ?? ""} inbound: ${inbound || "none"}; droplets ${JSON.stringify(inputs.dropletIds ?? [])}`;
    }
    if (type.endsWith("project:Project")) {
        return `${inputs.name ?? ""} (${inputs.environment ?? "no environment"}) resources ${JSON.stringify(inputs.resources ?? [])}`;
    }
    if (type.endsWith("monitorAlert:MonitorAlert")) {
        return `${inputs.type ?? ""} ${inputs.compare ?? ""} ${inputs.value ?? ""} over ${inputs.window ?? ""} -> ${JSON.stringify((inputs.alerts as { emails?: unknown } | undefined)?.emails ?? [])}`;
    }
    return "";
}
