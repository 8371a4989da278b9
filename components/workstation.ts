import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import * as random from "@pulumi/random";
import { WorkstationConfig } from "./config";
import { idleStopTag, isProdStack, projectEnvironment, workstationName } from "./environment";
import { Host } from "./host";
import { HostKey, hostKeyCloudConfig, knownHostsLine } from "./hostKey";
import { WORKSTATION_GID, WORKSTATION_UID, homeVolumeName, volumeMonthlyPrice } from "./homeVolume";
import { candidatesVariable, IdeName } from "./ideSources";
import { ProvisioningStage } from "./provisioningStage";
import { SshKeyPair } from "./sshKeyPair";
import { StageVariables, assembleScript, sha256 } from "./stageScript";
import { STAGES, StageGraph, StageName, installGraph, stageGraph, topologicalOrder } from "./stages";
import { Regression, StageTiming, TimingAlert, TimingSummary, regressionAgainst, stageAlerts, summarize } from "./timing";

export interface WorkstationArgs {
    /** Validated settings (config.ts). */
    config: WorkstationConfig;
    /** The stack name; names the droplet, key and project and tags `environment:<stack>`. */
    stack: string;
    /**
     * The droplet's image when it comes from an image stack (components/image.ts), with the
     * bake's time in epoch seconds: system-prep applies pending security updates to an image
     * older than `imageMaxAgeDays`. Absent: `config.image`, a base image.
     */
    fromImage?: { image: pulumi.Input<string>; bakedAt: pulumi.Input<number> };
    /** Only the install stages (an image builder, components/image.ts). Default false. */
    installOnly?: boolean;
    /**
     * When this `pulumi up` began, epoch ms: the program's start (index.ts), which the engine
     * launches within seconds of the command. The start of `lifecycle.readySeconds`. Default: now.
     */
    upStartedAt?: number;
}

/**
 * A droplet created less than this before the up began is this up's (a clock apart from
 * DigitalOcean's by up to this much still counts); one from an earlier up is older by that
 * up's whole provisioning, minutes.
 */
export const CREATED_THIS_UP_SLACK_MS = 60_000;

/** What a start or a stop was, as the program can measure it (output `lifecycle`). */
export type Lifecycle =
    | {
          state: "running";
          /** `start`: this up created the droplet (a start after a stop, or the first up); `update`: the droplet was there. */
          action: "start" | "update";
          /** Seconds from the up's start to the end of the last stage: the time to ready of a start. */
          readySeconds: number;
      }
    | {
          state: "stopped";
          /** USD per month while stopped (the home volume). */
          monthlyCost: number;
      };

/** `start` when the droplet was created in this up (see CREATED_THIS_UP_SLACK_MS), else `update`. */
export function lifecycleAction(dropletCreatedAt: string | undefined, upStartedAt: number): "start" | "update" {
    const created = Date.parse(dropletCreatedAt ?? "");
    if (Number.isNaN(created)) throw new Error(`the droplet's createdAt ${JSON.stringify(dropletCreatedAt)} is no time`);
    return created >= upStartedAt - CREATED_THIS_UP_SLACK_MS ? "start" : "update";
}

/** What the report stage prints (provisioning/report.sh). Fields the host could not measure are absent. */
export interface HostReport {
    resources?: Record<string, number>;
    benchmark?: Record<string, number>;
    alerts?: { level: "warning" | "critical"; kind: string; stage?: string; message: string }[];
    regression?: unknown;
    /** The monitor's samples of this run: host epoch seconds, memory in MB, CPU in %. */
    samples?: { t: number; memUsedMB: number; memAvailMB: number; cpuPercent: number }[];
}

/** A running workstation's provisioning: its stages and what they report. */
export interface Provisioning {
    /** Stage name → the stages it waits for. */
    graph: StageGraph;
    stages: Partial<Record<StageName, ProvisioningStage>>;
    timings: pulumi.Output<TimingSummary>;
    /** Stages over their estimate, then what the host's report raised. */
    alerts: pulumi.Output<(TimingAlert | NonNullable<HostReport["alerts"]>[number])[]>;
    /** Against the configured baseline. */
    regression: pulumi.Output<Regression>;
    /** verify's checks, as the host printed them. */
    verification: pulumi.Output<unknown>;
    /** report's findings: resource samples, benchmark, host alerts, comparison with the previous run. */
    report: pulumi.Output<HostReport>;
}

/**
 * A developer workstation: key, password, the home volume, and while running a droplet
 * behind its firewall with alerts and the provisioning stages in their dependency graph,
 * with the timing outputs they report. Stopped (`running: false`), only what keeps the
 * user's data and identity stays: key, password, volume, and the free firewall and project.
 */
export class Workstation extends pulumi.ComponentResource {
    public readonly keyPair: SshKeyPair;
    /** The droplet's SSH host key, pinned on every stage's connection. */
    public readonly hostKey: HostKey;
    /** `<ip> ssh-ed25519 AAAA…`: add it to ~/.ssh/known_hosts and ssh never asks whom it talks to. */
    public readonly knownHosts: pulumi.Output<string> | undefined;
    public readonly host: Host;
    /** The volume that holds /home; undefined with `homeVolumeGb: 0`. */
    public readonly homeVolume: digitalocean.Volume | undefined;
    public readonly password: pulumi.Output<string>;
    public readonly privateKey: pulumi.Output<string>;
    public readonly username: string;
    public readonly state: "running" | "stopped";
    /** What the stack costs per month while stopped: the home volume, USD. */
    public readonly stoppedMonthlyCost: number;
    /** Undefined while stopped. */
    public readonly ipv4Address: pulumi.Output<string> | undefined;
    /** The droplet's price; undefined while stopped. */
    public readonly priceMonthly: pulumi.Output<number> | undefined;
    /** Stage name → the stages it waits for (empty while stopped). */
    public readonly graph: StageGraph;
    /** Empty while stopped. */
    public readonly stages: Partial<Record<StageName, ProvisioningStage>>;
    /** Undefined while stopped. */
    public readonly provisioning: Provisioning | undefined;
    /** Running: whether this up started it and how long to ready; stopped: what it costs. */
    public readonly lifecycle: pulumi.Output<Lifecycle>;

    constructor(name: string, args: WorkstationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("workstation:index:Workstation", name, {}, opts);
        const { config, stack } = args;
        this.username = config.username;
        this.state = config.running || args.installOnly ? "running" : "stopped";
        const resourceName = workstationName(stack);

        this.keyPair = new SshKeyPair(
            name,
            {
                keyName: resourceName,
                existingFingerprints: config.existingSshKeyFingerprints,
            },
            { parent: this },
        );
        this.privateKey = this.keyPair.privateKey;
        this.hostKey = new HostKey(name, { parent: this });

        // For RDP logins; letters and digits only, so it can be typed into any client.
        const password = new random.RandomPassword(`${name}-password`, { length: 24, special: false }, { parent: this });
        this.password = pulumi.secret(password.result);

        // The home outlives every droplet. Its name derives from the stack alone and it is a
        // direct child of the Workstation (never of the Host, which loses its droplet on
        // stop), so neither a stop, a new username, size or image, nor a replaced droplet
        // changes its URN or name. A region change is ignored rather than obeyed: obeying
        // would replace the volume, that is delete the home. Prod protects it outright.
        // An image builder has no home of its own to keep: the image carries none.
        this.homeVolume =
            config.homeVolumeGb === 0 || args.installOnly
                ? undefined
                : new digitalocean.Volume(
                      `${name}-home`,
                      {
                          name: homeVolumeName(stack),
                          region: config.region,
                          size: config.homeVolumeGb,
                          description: `/home of ${workstationName(stack)}; kept while the workstation is stopped`,
                      },
                      { parent: this, protect: isProdStack(stack), ignoreChanges: ["region"] },
                  );
        this.stoppedMonthlyCost = this.homeVolume ? volumeMonthlyPrice(config.homeVolumeGb) : 0;

        this.host = new Host(
            name,
            {
                dropletName: resourceName,
                region: config.region,
                size: config.size,
                image: args.fromImage?.image ?? config.image,
                sshKeys: this.keyPair.fingerprints,
                // Secret as a whole: it carries the host's private key.
                userData: pulumi.secret(
                    pulumi
                        .all([this.keyPair.publicKey, this.hostKey.privateKey, this.hostKey.publicKey])
                        .apply(([key, hostPrivate, hostPublic]) => cloudConfig(config.username, key, { privateKey: hostPrivate, publicKey: hostPublic })),
                ),
                allowedSshCidrs: config.allowedSshCidrs,
                tags: dropletTags(config.tags, stack, args.installOnly ? undefined : config.idleStopMinutes),
                backups: config.backups,
                alertEmails: config.alertEmails,
                projectName: config.projectName,
                projectEnvironment: projectEnvironment(stack),
                running: config.running || args.installOnly === true,
                homeVolume: this.homeVolume,
            },
            { parent: this },
        );
        this.ipv4Address = this.host.ipv4Address;
        this.knownHosts = this.ipv4Address && pulumi.all([this.ipv4Address, this.hostKey.publicKey]).apply(([ip, key]) => knownHostsLine(ip, 22, key));
        this.priceMonthly = this.host.droplet?.priceMonthly;

        this.stages = {};
        const droplet = this.host.droplet;
        if (!droplet || !this.ipv4Address) {
            this.graph = {};
            this.provisioning = undefined;
            // A stop's own duration is not the program's to measure: the engine deletes the
            // droplet after the program has ended. Whoever runs the stop times it (README).
            this.lifecycle = pulumi.output<Lifecycle>({ state: "stopped", monthlyCost: this.stoppedMonthlyCost });
            this.registerOutputs({ state: this.state, lifecycle: this.lifecycle });
            return;
        }
        const upStartedAt = args.upStartedAt ?? Date.now();
        const ipv4Address = this.ipv4Address;
        this.graph = args.installOnly
            ? installGraph(config.ides, config.desktop)
            : stageGraph(config.ides, config.desktop, { homeVolume: this.homeVolume !== undefined, dotfiles: config.dotfiles !== undefined });
        for (const stage of topologicalOrder(this.graph)) {
            const variables = { WS_STAGE: stage, WS_USERNAME: config.username, ...this.stageVariables(stage, config, stack, args.fromImage) };
            const script = assembleScript(STAGES[stage].script, variables);
            this.stages[stage] = new ProvisioningStage(
                `${name}-${stage}`,
                {
                    stage,
                    connection: { host: ipv4Address, user: config.username, privateKey: this.privateKey, hostKey: this.hostKey.publicKey },
                    script,
                    timeoutSeconds: config.stageTimeouts[stage],
                    // A new droplet, an edited script or a new provisioningRun runs the stage again.
                    triggers: [script.apply(sha256), droplet.id, config.provisioningRun],
                    // Ordering comes from the graph only; a stage's own droplet dependency comes
                    // through its connection's host, and home-volume also waits for the attachment.
                    dependsOn: [
                        ...(this.graph[stage] ?? []).map((dep) => this.stages[dep]!.command),
                        ...(stage === "home-volume" && this.host.homeAttachment ? [this.host.homeAttachment] : []),
                    ],
                    handlesSecrets: stage === "system-prep",
                    waitForHost: stage === "wait-ready",
                },
                { parent: this },
            );
        }

        const graph = this.graph;
        const ran = topologicalOrder(graph).map((stage) => this.stages[stage]!);
        const timings: pulumi.Output<StageTiming[]> = pulumi.all(ran.map((s) => s.timing));
        const report = (this.stages.report?.result ?? pulumi.output(undefined)).apply((r) => (r ?? {}) as HostReport);
        const dotfilesResult: pulumi.Output<unknown> = this.stages.dotfiles?.result ?? pulumi.output(undefined);
        this.provisioning = {
            graph,
            stages: this.stages,
            timings: timings.apply((t) => summarize(t, graph)),
            regression: timings.apply((t) => regressionAgainst(t, config.baseline)),
            // An image builder has no verify or report stage.
            verification: this.stages.verify?.result ?? pulumi.output(undefined),
            report,
            alerts: pulumi
                .all([timings, report, dotfilesResult])
                .apply(([t, r, dotfiles]) => [
                    ...stageAlerts(t, config.stageEstimates),
                    ...(r.alerts ?? []).filter((a) => a.kind !== "stage"),
                    ...dotfilesAlerts(dotfiles),
                ]),
        };

        // Resolves when the last stage has ended, so the clock read here is the time to ready.
        this.lifecycle = pulumi.all([timings, droplet.createdAt]).apply(([, createdAt]): Lifecycle => ({
            state: "running",
            action: lifecycleAction(createdAt, upStartedAt),
            readySeconds: Math.round((Date.now() - upStartedAt) / 100) / 10,
        }));

        this.registerOutputs({
            state: this.state,
            lifecycle: this.lifecycle,
            ipv4Address: this.ipv4Address,
            knownHosts: this.knownHosts,
            timings: this.provisioning.timings,
            alerts: this.provisioning.alerts,
            regression: this.provisioning.regression,
        });
    }

    private stageVariables(stage: StageName, config: WorkstationConfig, stack: string, fromImage: WorkstationArgs["fromImage"]): StageVariables {
        switch (stage) {
            case "home-volume":
                return {
                    WS_HOME_VOLUME_NAME: homeVolumeName(stack),
                    WS_UID: String(WORKSTATION_UID),
                    WS_GID: String(WORKSTATION_GID),
                };
            case "system-prep":
                return {
                    ...(fromImage
                        ? {
                              WS_IMAGE_BAKED_AT: pulumi.output(fromImage.bakedAt).apply(String),
                              WS_IMAGE_MAX_AGE_DAYS: String(config.imageMaxAgeDays),
                          }
                        : {}),
                    WS_PASSWORD: this.password,
                    WS_AUTHORIZED_KEYS: this.keyPair.publicKey.apply((key) => [key, ...config.authorizedKeys].join("\n")),
                    // Keys registered with DigitalOcean reach root only; root login ends with harden.
                    WS_COPY_ROOT_KEYS: String(config.existingSshKeyFingerprints.length > 0),
                };
            case "ide-vscode":
            case "ide-cursor":
            case "ide-antigravity": {
                const ide = STAGES[stage].ide as IdeName;
                const source = config.ideSources[ide];
                return {
                    WS_IDE: ide,
                    WS_IDE_REPO_URL: source.repoUrl,
                    WS_IDE_SUITE: source.suite,
                    WS_IDE_COMPONENTS: source.components,
                    WS_IDE_KEY_URL: source.keyUrl,
                    WS_IDE_KEYRING: source.keyring,
                    WS_IDE_SOURCE_NAME: source.sourceName,
                    WS_IDE_CANDIDATES: candidatesVariable(source.candidates),
                };
            }
            case "verify":
                return {
                    WS_DESKTOP: String(config.desktop),
                    // The IDE stages record on the host which candidate each installed.
                    WS_IDES: config.ides.join(" "),
                };
            case "dotfiles":
                return {
                    WS_DOTFILES_URL: config.dotfiles!.url,
                    WS_DOTFILES_BRANCH: config.dotfiles!.branch ?? "",
                    WS_DOTFILES_INSTALL_COMMAND: config.dotfiles!.installCommand ?? "",
                };
            case "harden":
                return { WS_SSH_NEVER_BAN: config.sshNeverBanCidrs.join(" ") };
            case "report":
                return {
                    WS_STAGE_ESTIMATES: Object.keys(this.graph)
                        .map((s) => `${s}=${config.stageEstimates[s as StageName]}`)
                        .join(" "),
                };
            default:
                return {};
        }
    }
}

/** What provisioning/dotfiles.sh prints as its result. */
export interface DotfilesResult {
    head?: string;
    method?: string;
    failure?: { step: string; exitCode: number; tail: string } | null;
}

/**
 * A failing dotfiles install does not fail the workstation: it becomes a warning here,
 * with the tail of the script's output.
 */
export function dotfilesAlerts(result: unknown): NonNullable<HostReport["alerts"]> {
    const failure = (result as DotfilesResult | undefined)?.failure;
    if (!failure) return [];
    return [
        {
            level: "warning",
            kind: "dotfiles",
            stage: "dotfiles",
            message: `dotfiles: ${failure.step} exited with ${failure.exitCode}; last lines of its output:\n${failure.tail}`,
        },
    ];
}

/**
 * cloud-config that creates the workstation user with the provisioning key and
 * passwordless sudo, so every stage connects as that user, also after `harden`
 * forbids root login; and installs the program's host key as the only one sshd has.
 */
export function cloudConfig(username: string, publicKey: string, hostKey: { privateKey: string; publicKey: string }): string {
    return [
        "#cloud-config",
        "users:",
        `  - name: ${username}`,
        // The same UID on every droplet, so the home volume's files keep their owner;
        // useradd gives the user's own group the same number (home-volume checks both).
        `    uid: ${WORKSTATION_UID}`,
        "    shell: /bin/bash",
        "    groups: [sudo]",
        '    sudo: "ALL=(ALL) NOPASSWD:ALL"',
        "    lock_passwd: true",
        "    ssh_authorized_keys:",
        `      - ${publicKey.trim()}`,
        ...hostKeyCloudConfig(hostKey.privateKey, hostKey.publicKey),
        "",
    ].join("\n");
}

/**
 * `workstation` and `environment:<stack>` (unless an environment tag is configured), then
 * `idle-stop:<minutes|off>` when the idle limit is given (a workstation, not an image
 * builder), then the configured tags.
 */
export function dropletTags(configured: string[], stack: string, idleStopMinutes?: number): string[] {
    const own = ["workstation"];
    if (!configured.some((t) => t === "environment" || t.startsWith("environment:"))) own.push(`environment:${stack}`);
    if (idleStopMinutes !== undefined) own.push(idleStopTag(idleStopMinutes));
    return [...new Set([...own, ...configured])];
}
