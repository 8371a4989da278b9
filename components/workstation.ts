import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { WorkstationConfig } from "./config";
import { projectEnvironment } from "./environment";
import { Host } from "./host";
import { HostKey, hostKeyCloudConfig, knownHostsLine } from "./hostKey";
import { IdeName } from "./ideSources";
import { ProvisioningStage } from "./provisioningStage";
import { SshKeyPair } from "./sshKeyPair";
import { StageVariables, assembleScript, sha256 } from "./stageScript";
import { StageGraph, StageName, stageGraph, topologicalOrder } from "./stages";
import {
    Regression, StageTiming, TimingAlert, TimingSummary, regressionAgainst, stageAlerts, summarize,
} from "./timing";

export interface WorkstationArgs {
    /** Validated settings (config.ts). */
    config: WorkstationConfig;
    /** The stack name; names the droplet, key and project and tags `environment:<stack>`. */
    stack: string;
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

/** The provisioning scripts by stage; the three IDE stages share one script. */
const STAGE_SCRIPTS: Record<StageName, string> = {
    "wait-ready": "wait-ready.sh",
    "system-prep": "system-prep.sh",
    "desktop": "desktop.sh",
    "ide-vscode": "ide.sh",
    "ide-cursor": "ide.sh",
    "ide-antigravity": "ide.sh",
    "monitor": "monitor.sh",
    "verify": "verify.sh",
    "harden": "harden.sh",
    "report": "report.sh",
    "dotfiles": "dotfiles.sh",
};

/**
 * A provisioned developer workstation: key, droplet, firewall, project, alerts, and the
 * provisioning stages in their dependency graph, with the timing outputs they report.
 */
export class Workstation extends pulumi.ComponentResource {
    public readonly keyPair: SshKeyPair;
    /** The droplet's SSH host key, pinned on every stage's connection. */
    public readonly hostKey: HostKey;
    /** `<ip> ssh-ed25519 AAAA…`: add it to ~/.ssh/known_hosts and ssh never asks whom it talks to. */
    public readonly knownHosts: pulumi.Output<string>;
    public readonly host: Host;
    public readonly password: pulumi.Output<string>;
    public readonly privateKey: pulumi.Output<string>;
    public readonly username: string;
    public readonly ipv4Address: pulumi.Output<string>;
    public readonly priceMonthly: pulumi.Output<number>;
    /** Stage name → the stages it waits for. */
    public readonly graph: StageGraph;
    public readonly stages: Partial<Record<StageName, ProvisioningStage>>;
    public readonly timings: pulumi.Output<TimingSummary>;
    /** Stages over their estimate, then what the host's report raised. */
    public readonly alerts: pulumi.Output<(TimingAlert | NonNullable<HostReport["alerts"]>[number])[]>;
    /** Against the configured baseline. */
    public readonly regression: pulumi.Output<Regression>;
    /** verify's checks, as the host printed them. */
    public readonly verification: pulumi.Output<unknown>;
    /** report's findings: resource samples, benchmark, host alerts, comparison with the previous run. */
    public readonly report: pulumi.Output<HostReport>;

    constructor(name: string, args: WorkstationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("workstation:index:Workstation", name, {}, opts);
        const { config, stack } = args;
        this.username = config.username;
        const resourceName = `workstation-${stack}`;

        this.keyPair = new SshKeyPair(name, {
            keyName: resourceName,
            existingFingerprints: config.existingSshKeyFingerprints,
        }, { parent: this });
        this.privateKey = this.keyPair.privateKey;
        this.hostKey = new HostKey(name, { parent: this });

        // For RDP logins; letters and digits only, so it can be typed into any client.
        const password = new random.RandomPassword(`${name}-password`, { length: 24, special: false }, { parent: this });
        this.password = pulumi.secret(password.result);

        this.host = new Host(name, {
            dropletName: resourceName,
            region: config.region,
            size: config.size,
            image: config.image,
            sshKeys: this.keyPair.fingerprints,
            // Secret as a whole: it carries the host's private key.
            userData: pulumi.secret(pulumi.all([this.keyPair.publicKey, this.hostKey.privateKey, this.hostKey.publicKey])
                .apply(([key, hostPrivate, hostPublic]) => cloudConfig(config.username, key, { privateKey: hostPrivate, publicKey: hostPublic }))),
            allowedSshCidrs: config.allowedSshCidrs,
            tags: dropletTags(config.tags, stack),
            backups: config.backups,
            alertEmails: config.alertEmails,
            projectName: config.projectName,
            projectEnvironment: projectEnvironment(stack),
        }, { parent: this });
        this.ipv4Address = this.host.ipv4Address;
        this.knownHosts = pulumi.all([this.ipv4Address, this.hostKey.publicKey]).apply(([ip, key]) => knownHostsLine(ip, 22, key));
        this.priceMonthly = this.host.droplet.priceMonthly;

        this.graph = stageGraph(config.ides, config.desktop, { dotfiles: config.dotfiles !== undefined });
        this.stages = {};
        for (const stage of topologicalOrder(this.graph)) {
            const variables = { WS_STAGE: stage, WS_USERNAME: config.username, ...this.stageVariables(stage, config) };
            const script = assembleScript(STAGE_SCRIPTS[stage], variables);
            this.stages[stage] = new ProvisioningStage(`${name}-${stage}`, {
                stage,
                connection: { host: this.ipv4Address, user: config.username, privateKey: this.privateKey, hostKey: this.hostKey.publicKey },
                script,
                timeoutSeconds: config.stageTimeouts[stage],
                // A new droplet, an edited script or a new provisioningRun runs the stage again.
                triggers: [script.apply(sha256), this.host.droplet.id, config.provisioningRun],
                // Ordering comes from the graph only; a stage's own droplet dependency comes
                // through its connection's host.
                dependsOn: (this.graph[stage] ?? []).map((dep) => this.stages[dep]!.command),
                handlesSecrets: stage === "system-prep",
                waitForHost: stage === "wait-ready",
            }, { parent: this });
        }

        const ran = topologicalOrder(this.graph).map((stage) => this.stages[stage]!);
        const timings: pulumi.Output<StageTiming[]> = pulumi.all(ran.map((s) => s.timing));
        this.timings = timings.apply((t) => summarize(t, this.graph));
        this.regression = timings.apply((t) => regressionAgainst(t, config.baseline));
        this.verification = this.stages.verify!.result;
        this.report = this.stages.report!.result.apply((r) => (r ?? {}) as HostReport);
        const dotfilesResult: pulumi.Output<unknown> = this.stages.dotfiles?.result ?? pulumi.output(undefined);
        this.alerts = pulumi.all([timings, this.report, dotfilesResult]).apply(([t, report, dotfiles]) => [
            ...stageAlerts(t, config.stageEstimates),
            ...(report.alerts ?? []).filter((a) => a.kind !== "stage"),
            ...dotfilesAlerts(dotfiles),
        ]);

        this.registerOutputs({
            ipv4Address: this.ipv4Address, knownHosts: this.knownHosts, timings: this.timings, alerts: this.alerts, regression: this.regression,
        });
    }

    private stageVariables(stage: StageName, config: WorkstationConfig): StageVariables {
        switch (stage) {
            case "system-prep":
                return {
                    WS_PASSWORD: this.password,
                    WS_AUTHORIZED_KEYS: this.keyPair.publicKey.apply((key) => [key, ...config.authorizedKeys].join("\n")),
                    // Keys registered with DigitalOcean reach root only; root login ends with harden.
                    WS_COPY_ROOT_KEYS: String(config.existingSshKeyFingerprints.length > 0),
                };
            case "ide-vscode":
            case "ide-cursor":
            case "ide-antigravity": {
                const ide = stage.slice("ide-".length) as IdeName;
                const source = config.ideSources[ide];
                return {
                    WS_IDE: ide,
                    WS_IDE_REPO_URL: source.repoUrl,
                    WS_IDE_SUITE: source.suite,
                    WS_IDE_COMPONENTS: source.components,
                    WS_IDE_KEY_URL: source.keyUrl,
                    WS_IDE_KEYRING: source.keyring,
                    WS_IDE_SOURCE_NAME: source.sourceName,
                    WS_IDE_PACKAGE: source.package,
                    WS_IDE_BINARY: source.binary,
                };
            }
            case "verify":
                return {
                    WS_DESKTOP: String(config.desktop),
                    WS_IDE_BINARIES: config.ides.map((ide) => `${ide}=${config.ideSources[ide].binary}`).join(" "),
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
                        .map((s) => `${s}=${config.stageEstimates[s as StageName]}`).join(" "),
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
    return [{
        level: "warning", kind: "dotfiles", stage: "dotfiles",
        message: `dotfiles: ${failure.step} exited with ${failure.exitCode}; last lines of its output:\n${failure.tail}`,
    }];
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
        "    shell: /bin/bash",
        "    groups: [sudo]",
        "    sudo: \"ALL=(ALL) NOPASSWD:ALL\"",
        "    lock_passwd: true",
        "    ssh_authorized_keys:",
        `      - ${publicKey.trim()}`,
        ...hostKeyCloudConfig(hostKey.privateKey, hostKey.publicKey),
        "",
    ].join("\n");
}

/** `workstation` and `environment:<stack>` (unless an environment tag is configured), then the configured tags. */
export function dropletTags(configured: string[], stack: string): string[] {
    const own = ["workstation"];
    if (!configured.some((t) => t === "environment" || t.startsWith("environment:"))) own.push(`environment:${stack}`);
    return [...new Set([...own, ...configured])];
}


