// The one Pulumi mocks module for unit tests, loaded once with mocha's --require
// (setMocks must run before the program is imported, and the last call wins).
// It records every registration and throws on a type it does not know, so a new
// resource type cannot slip into the program without a test seeing it.
import * as pulumi from "@pulumi/pulumi";
import { STAGE_NAMES, StageName, stageGraph, topologicalOrder } from "../../components/stages";
import { IDE_NAMES } from "../../components/ideSources";
import { RESULT_MARKER, TIMING_MARKER } from "../../components/timing";
import { isWrappedSecret, unwrapSecrets } from "../../tools/shared/secrets";
import sizes from "../../data/do-sizes.json";
import { VOLUME_MAX_GIB, VOLUME_MIN_GIB, VOLUME_REGIONS, isVolumeName } from "../../components/homeVolume";

export interface Registration {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    /** The parent's type, read from the URN (`…::parentType$childType::name`). */
    parentType: string | undefined;
    urn: string;
}

export const registrations: Registration[] = [];

export const MOCK_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockMockMockMockMockMockMockMockMockMockMo workstation";
/** What the host-key PrivateKey (`…-hostkey`) returns: another key, so a test can tell the two apart. */
export const MOCK_HOST_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostHostHostHostHostHostHostHostHostHostHo";
export const MOCK_HOST_PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nbW9jay1ob3N0LWtleS1mb3ItdW5pdC10ZXN0cw==\n-----END OPENSSH PRIVATE KEY-----\n";
export const MOCK_HOST_FINGERPRINT = "SHA256:mockHostKeyFingerprintForUnitTests0000000000";
export const MOCK_PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nbW9jay1wcml2YXRlLWtleS1mb3ItdW5pdC10ZXN0cw==\n-----END OPENSSH PRIVATE KEY-----\n";
export const MOCK_PASSWORD = "MockPassw0rdForUnitTests";
export const MOCK_IP = "203.0.113.10";

/** Seconds each stage "takes" in the mocks; start times follow the full stage graph. */
export const MOCK_STAGE_SECONDS: Record<StageName, number> = {
    "wait-ready": 30,
    "home-volume": 4,
    "system-prep": 60,
    desktop: 200,
    "ide-vscode": 80,
    "ide-cursor": 120,
    "ide-antigravity": 70,
    monitor: 2,
    verify: 5,
    harden: 8,
    report: 12,
    dotfiles: 15,
};
const MOCK_EPOCH = 1_764_000_000;

function mockSchedule(): Record<StageName, { start: number; end: number }> {
    const graph = stageGraph(IDE_NAMES, true, { dotfiles: true, homeVolume: true });
    const schedule = {} as Record<StageName, { start: number; end: number }>;
    for (const stage of topologicalOrder(graph)) {
        const start = Math.max(MOCK_EPOCH, ...(graph[stage] ?? []).map((d) => schedule[d].end));
        schedule[stage] = { start, end: start + MOCK_STAGE_SECONDS[stage] };
    }
    return schedule;
}
const SCHEDULE = mockSchedule();

/** What a stage's script would print, with a result line for verify and report. */
export function mockStageStdout(stage: StageName): string {
    const { start, end } = SCHEDULE[stage];
    const lines = [`[${stage}] mock run`];
    if (stage === "verify") lines.push(`${RESULT_MARKER} ${JSON.stringify({ ok: true, checks: [{ name: "sudo", ok: true }] })}`);
    if (stage === "dotfiles") lines.push(`${RESULT_MARKER} ${JSON.stringify({ head: "0123abc", method: "install.sh", changed: true, failure: null })}`);
    if (stage === "report") {
        lines.push(
            `${RESULT_MARKER} ${JSON.stringify({
                resources: { samples: 12, peakMemUsedMB: 900, minMemAvailMB: 300, minDiskAvailMB: 40000, maxCPUPercent: 80 },
                benchmark: { cpuSeconds: 1.5, diskWriteMBps: 400 },
                alerts: [{ level: "warning", kind: "memory", message: "available memory fell to 300 MB (under 500 MB)" }],
                regression: { previous: null, regressed: false, details: [] },
            })}`,
        );
    }
    lines.push(
        `${TIMING_MARKER} ${JSON.stringify({
            stage,
            start,
            end,
            seconds: end - start,
            status: "ok",
            steps: [{ name: "work", seconds: end - start, status: "ok" }],
        })}`,
    );
    return lines.join("\n") + "\n";
}

function parentTypeOf(urn: string): string | undefined {
    const typeChain = urn.split("::")[2] ?? "";
    const types = typeChain.split("$");
    return types.length > 1 ? types[types.length - 2] : undefined;
}

/** Strips the SDK's secret wrapper so tests can read inputs. */
export const unwrap = unwrapSecrets;

export function isSecretInput(value: unknown): boolean {
    return isWrappedSecret(value);
}

const COMPONENT_TYPES = new Set([
    "workstation:index:Workstation",
    "workstation:index:SshKeyPair",
    "workstation:index:HostKey",
    "workstation:index:Host",
    "workstation:index:ProvisioningStage",
    "workstation:index:WorkstationImage",
]);

/** Volumes and droplets by id, so an attachment can be checked the way DigitalOcean checks it. */
const volumesById = new Map<string, { region: string; name: string }>();
const dropletsById = new Map<number, { region: string }>();
/**
 * A numeric droplet id as DigitalOcean gives it (the program turns it into a number
 * for the firewall and the attachment), the same for the same name on every run, as
 * an unchanged droplet keeps its id.
 */
function idFor(type: string, name: string): string {
    if (type !== "digitalocean:index/droplet:Droplet") return `${name}-id`;
    let hash = 0;
    for (const c of name) hash = (hash * 31 + c.charCodeAt(0)) % 100_000_000;
    return String(300_000_000 + hash);
}

/** What DigitalOcean's API refuses when a volume is created. */
function checkVolume(name: string, inputs: Record<string, unknown>): void {
    const volumeName = String(inputs.name);
    if (!isVolumeName(volumeName))
        throw new Error(`mocks: volume ${name}: name ${JSON.stringify(volumeName)} is not lower-case letters, digits and dashes of at most 64`);
    if (!VOLUME_REGIONS.includes(String(inputs.region))) throw new Error(`mocks: volume ${name}: region ${String(inputs.region)} offers no volumes`);
    const size = inputs.size;
    if (typeof size !== "number" || !Number.isInteger(size) || size < VOLUME_MIN_GIB || size > VOLUME_MAX_GIB) {
        throw new Error(`mocks: volume ${name}: size ${JSON.stringify(size)} is not ${VOLUME_MIN_GIB}..${VOLUME_MAX_GIB} GiB`);
    }
}

/** An attachment needs a droplet and a volume that exist, in the same region. */
function checkAttachment(name: string, inputs: Record<string, unknown>): void {
    const droplet = dropletsById.get(Number(inputs.dropletId));
    const volume = volumesById.get(String(inputs.volumeId));
    if (!droplet) throw new Error(`mocks: attachment ${name}: no droplet ${JSON.stringify(inputs.dropletId)}`);
    if (!volume) throw new Error(`mocks: attachment ${name}: no volume ${JSON.stringify(inputs.volumeId)}`);
    if (droplet.region !== volume.region) {
        throw new Error(`mocks: attachment ${name}: volume in ${volume.region}, droplet in ${droplet.region}; they must share a region`);
    }
}

/** The image stack the mock backend knows, and its outputs (what components/image.ts exports). */
export const MOCK_IMAGE_STACK = "acme/workstation/image";
export const MOCK_IMAGE_OUTPUTS = {
    snapshotId: "190000001",
    snapshotName: "workstation-image-image-2026-11-30",
    bakedAt: 1_764_460_800,
    contents: { xfce4: "4.20.1", xrdp: "0.10.1-1", code: "1.95.0-1" },
};
/** A stack that exists but never baked (no image outputs). */
export const MOCK_EMPTY_STACK = "acme/workstation/dev";
/** What the mock generalise command prints (provisioning/generalise.sh's result line). */
export const MOCK_GENERALISED = {
    removed: ["user:dev", "/etc/machine-id"],
    packages: { xfce4: "4.20.1", xrdp: "0.10.1-1", code: "1.95.0-1" },
    at: 1_764_500_000,
};

function outputsFor(type: string, name: string, id: string, inputs: Record<string, unknown>): Record<string, unknown> {
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            if (inputs.algorithm !== "ED25519") throw new Error(`mocks: ${name}: the program makes ED25519 keys only, got ${String(inputs.algorithm)}`);
            return name.endsWith("-hostkey")
                ? {
                      ...inputs,
                      publicKeyOpenssh: `${MOCK_HOST_PUBLIC_KEY}\n`,
                      privateKeyOpenssh: MOCK_HOST_PRIVATE_KEY,
                      publicKeyFingerprintSha256: MOCK_HOST_FINGERPRINT,
                  }
                : { ...inputs, publicKeyOpenssh: `${MOCK_PUBLIC_KEY}\n`, privateKeyOpenssh: MOCK_PRIVATE_KEY };
        case "random:index/randomPassword:RandomPassword":
            return { ...inputs, result: MOCK_PASSWORD };
        case "digitalocean:index/sshKey:SshKey":
            return { ...inputs, fingerprint: "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa" };
        case "digitalocean:index/droplet:Droplet": {
            const size = (sizes.sizes as Record<string, { priceMonthly: number }>)[String(inputs.size)];
            dropletsById.set(Number(id), { region: String(inputs.region) });
            return {
                ...inputs,
                ipv4Address: MOCK_IP,
                priceMonthly: size?.priceMonthly ?? 0,
                dropletUrn: `do:droplet:${id}`,
                status: "active",
                createdAt: new Date().toISOString(),
            };
        }
        case "digitalocean:index/volume:Volume":
            checkVolume(name, inputs);
            volumesById.set(id, { region: String(inputs.region), name: String(inputs.name) });
            return { ...inputs, volumeUrn: `do:volume:${id}`, dropletIds: [] };
        case "digitalocean:index/volumeAttachment:VolumeAttachment":
            checkAttachment(name, inputs);
            return inputs;
        case "digitalocean:index/firewall:Firewall":
        case "digitalocean:index/project:Project":
        case "digitalocean:index/monitorAlert:MonitorAlert":
            return inputs;
        case "digitalocean:index/dropletSnapshot:DropletSnapshot": {
            // The provider requires droplet_id (a droplet's numeric id) and name; both force a new snapshot.
            if (typeof inputs.dropletId !== "string" || inputs.dropletId === "") {
                throw new Error(`mocks: ${name}: dropletId is required (the droplet to snapshot), got ${JSON.stringify(inputs.dropletId)}`);
            }
            if (typeof inputs.name !== "string" || inputs.name === "") throw new Error(`mocks: ${name}: name is required`);
            return { ...inputs, createdAt: "2026-12-03T09:00:00Z", minDiskSize: 80, size: 6.2, regions: ["nyc3"] };
        }
        case "pulumi:pulumi:StackReference": {
            // The engine refuses a stack it cannot find.
            const stackName = String(inputs.name);
            if (stackName === MOCK_IMAGE_STACK) return { name: stackName, outputs: MOCK_IMAGE_OUTPUTS, secretOutputNames: [] };
            if (stackName === MOCK_EMPTY_STACK) return { name: stackName, outputs: {}, secretOutputNames: [] };
            throw new Error(`mocks: unknown stack ${stackName}`);
        }
        case "command:remote:Command": {
            if (name.endsWith("-generalise"))
                return { ...inputs, stdout: `[generalise] done\n::workstation-generalised:: ${JSON.stringify(MOCK_GENERALISED)}\n`, stderr: "" };
            const stage = STAGE_NAMES.find((s) => name.endsWith(`-${s}`));
            if (!stage) throw new Error(`mocks: command ${name} is not named after a stage`);
            return { ...inputs, stdout: mockStageStdout(stage), stderr: "" };
        }
        default:
            if (COMPONENT_TYPES.has(type)) return inputs;
            throw new Error(`mocks: unknown resource type ${type} (${name}); add it to tests/unit/mocks.ts deliberately`);
    }
}

pulumi.runtime.setMocks(
    {
        newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
            // The URN (and so the parent) is made by the mock monitor after this returns; settle() fills it in.
            registrations.push({ type: args.type, name: args.name, inputs: args.inputs, parentType: undefined, urn: "" });
            const id = idFor(args.type, args.name);
            return { id, state: outputsFor(args.type, args.name, id, args.inputs) };
        },
        call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
            throw new Error(`mocks: unexpected provider call ${args.token}`);
        },
    },
    "workstation",
    "dev",
    false,
);

/** Resolves an Output's value in tests. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) =>
        output.apply((v) => {
            resolve(v);
            return v;
        }),
    );
}

/**
 * Waits until no registration has arrived for a few event-loop turns, then reads each
 * registration's URN from the mock monitor, which encodes the parent's type.
 */
export async function settle(): Promise<void> {
    let last = -1;
    let quiet = 0;
    while (quiet < 20) {
        await new Promise((r) => setImmediate(r));
        if (registrations.length === last) quiet++;
        else {
            quiet = 0;
            last = registrations.length;
        }
    }
    const monitor = pulumi.runtime.getMonitor() as unknown as { resources: Map<string, unknown> };
    const urns = [...monitor.resources.keys()];
    for (const reg of registrations) {
        const urn = urns.find((u) => u.endsWith(`::${reg.name}`) && u.split("::")[2].split("$").pop() === reg.type);
        reg.urn = urn ?? "";
        reg.parentType = urn ? parentTypeOf(urn) : undefined;
    }
}
