// The image stack (config `role: image`): a builder droplet with the install stages,
// generalised (provisioning/generalise.sh) and snapshotted, so that every workstation can
// start from the snapshot and find its install stages done. And the other side: a
// workstation reading an image stack's snapshot through a StackReference.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import { WorkstationConfig } from "./config";
import { Workstation } from "./workstation";

/** The line generalise.sh prints with what it removed and the installed packages' versions. */
export const GENERALISED_MARKER = "::workstation-generalised::";

/** What the generalise step reports. */
export interface Generalised {
    removed: string[];
    /** Package → installed version ("" when not installed). */
    packages: Record<string, string>;
    /** When the host was generalised, epoch seconds. */
    at: number;
}

/** What an image stack exports and a workstation reads (`imageStack`). */
export interface ImageOutputs {
    snapshotId: string;
    snapshotName: string;
    /** Epoch seconds of the bake. */
    bakedAt: number;
    /** The packages in the image and their versions: the desktop, each IDE, the base tools. */
    contents: Record<string, string>;
}

export function parseGeneralised(stdout: string): Generalised {
    const line = stdout.split("\n").find((l) => l.startsWith(`${GENERALISED_MARKER} `));
    if (!line) throw new Error(`generalise printed no ${GENERALISED_MARKER} line; its output was:\n${stdout.slice(-2000)}`);
    return JSON.parse(line.slice(GENERALISED_MARKER.length + 1)) as Generalised;
}

/** `workstation-image-<stack>-<bake>`: the prefix is how the bake workflow finds this stack's older snapshots to prune. */
export function snapshotName(stack: string, bake: string): string {
    return `${snapshotPrefix(stack)}${bake}`;
}

export function snapshotPrefix(stack: string): string {
    return `workstation-image-${stack}-`;
}

/**
 * The packages whose versions the image reports: the desktop's and each selected IDE's
 * candidates (the one the repository offered is installed; the others report "").
 */
export function reportedPackages(config: WorkstationConfig): string[] {
    return [
        ...(config.desktop ? ["xfce4", "xrdp", "xorgxrdp"] : []),
        ...config.ides.flatMap((ide) => config.ideSources[ide].candidates.map((c) => c.package)),
        "openssh-server",
    ];
}

export interface WorkstationImageArgs {
    config: WorkstationConfig;
    stack: string;
}

/**
 * Bakes an image. While `imageBuilder` is true: a builder (a Workstation with the install
 * stages only), then generalise.sh (which powers it off), then the snapshot. With
 * `imageBuilder: false` (the bake's second `up`) the builder leaves the program, so Pulumi
 * deletes the droplet, its key and firewall; the generalise record and the snapshot stay
 * registered with `ignoreChanges` on what pointed at the builder, so they keep their state
 * (the snapshot id, the versions) and are neither replaced nor run again.
 */
export class WorkstationImage extends pulumi.ComponentResource {
    public readonly builder: Workstation | undefined;
    public readonly generalise: command.remote.Command;
    public readonly snapshot: digitalocean.DropletSnapshot;
    public readonly outputs: pulumi.Output<ImageOutputs>;

    constructor(name: string, args: WorkstationImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("workstation:index:WorkstationImage", name, {}, opts);
        const { config, stack } = args;
        const building = config.imageBuilder;
        // After the builder is gone its inputs are placeholders the engine never sends:
        // ignoreChanges keeps the values in state (and would fail loudly on a create).
        const gone = "builder-deleted";

        this.builder = building ? new Workstation(name, { config, stack, installOnly: true }, { parent: this }) : undefined;
        const stages = this.builder ? Object.values(this.builder.stages).map((s) => s!.command) : [];
        const script = fs.readFileSync(path.join(__dirname, "..", "provisioning", "generalise.sh"), "utf8");
        const packages = reportedPackages(config).join(" ");

        this.generalise = new command.remote.Command(
            `${name}-generalise`,
            {
                connection: pulumi.secret({
                    host: this.builder?.ipv4Address ?? gone,
                    user: config.username,
                    privateKey: this.builder?.privateKey ?? gone,
                    hostKey: this.builder?.hostKey.publicKey ?? gone,
                    dialErrorLimit: 10,
                    perDialTimeout: 15,
                }),
                // generalise.sh removes this very user; userdel -f allows it while the session is open.
                create: `sudo -n bash -s -- --poweroff --packages '${packages}'`,
                stdin: script,
                triggers: [this.builder?.host.droplet?.id ?? gone, config.imageBake],
                logging: "stdoutAndStderr",
                addPreviousOutputInEnv: false,
            },
            {
                parent: this,
                dependsOn: stages,
                customTimeouts: { create: "10m" },
                ignoreChanges: building ? [] : ["connection", "triggers", "stdin", "create"],
            },
        );

        this.snapshot = new digitalocean.DropletSnapshot(
            `${name}-snapshot`,
            {
                dropletId: this.builder?.host.droplet?.id ?? gone,
                name: snapshotName(stack, config.imageBake),
            },
            {
                parent: this,
                dependsOn: [this.generalise],
                ignoreChanges: building ? [] : ["dropletId"],
                // A new bake replaces the snapshot resource (its name changes); the older snapshot
                // stays in the account for workstations still on it, until the bake workflow prunes it.
                retainOnDelete: true,
            },
        );

        const generalised = this.generalise.stdout.apply((out) => parseGeneralised(out ?? ""));
        this.outputs = pulumi.all([this.snapshot.id, this.snapshot.name, generalised]).apply(([id, snapName, g]) => ({
            snapshotId: id,
            snapshotName: snapName,
            bakedAt: g.at,
            contents: g.packages,
        }));
        this.registerOutputs({ outputs: this.outputs });
    }
}

/**
 * A workstation's image from an image stack: its `snapshotId` and `bakedAt` outputs.
 * A stack without them (never baked, or not an image stack) fails with the stack's name.
 */
export function imageFromStack(stackName: string, opts?: pulumi.CustomResourceOptions): { image: pulumi.Output<string>; bakedAt: pulumi.Output<number> } {
    const ref = new pulumi.StackReference(stackName, { name: stackName }, opts);
    const read = (key: keyof ImageOutputs) =>
        ref.getOutput(key).apply((v: unknown) => {
            if (v === undefined || v === null || v === "") {
                throw new Error(`workstation:imageStack: stack ${stackName} has no ${key} output; is it an image stack (role: image) that has baked?`);
            }
            return v;
        });
    return { image: read("snapshotId").apply(String), bakedAt: read("bakedAt").apply(Number) };
}

/** A snapshot as the DigitalOcean API lists it. */
export interface ListedSnapshot {
    id: string;
    name: string;
    createdAt: string;
}

/**
 * The snapshots of this image stack to delete: those named with its prefix, beyond the
 * `keep` newest. Older snapshots are no longer in Pulumi's state (retainOnDelete left them
 * in the account), so the bake workflow prunes them by name from the API's list.
 */
export function snapshotsToPrune(snapshots: ListedSnapshot[], stack: string, keep: number): ListedSnapshot[] {
    if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be a whole number of at least 1, got ${keep}`);
    const prefix = snapshotPrefix(stack);
    return snapshots
        .filter((s) => s.name.startsWith(prefix))
        .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
        .slice(keep);
}
