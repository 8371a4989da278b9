import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";

export interface HostArgs {
    /** Droplet name (a hostname). */
    dropletName: pulumi.Input<string>;
    region: pulumi.Input<string>;
    size: pulumi.Input<string>;
    image: pulumi.Input<string>;
    /** Fingerprints or ids of the keys the droplet trusts. */
    sshKeys: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * cloud-config that creates the workstation user and installs the host key; pass it
     * as a secret (it carries the host's private key). Changing it replaces the droplet.
     */
    userData: pulumi.Input<string>;
    /** Sources allowed to reach port 22. Nothing else is ever opened inbound except ICMP. */
    allowedSshCidrs: string[];
    tags: string[];
    /** Weekly backups. Default false. */
    backups?: boolean;
    /** Receive CPU, memory and disk alerts. Empty or absent: no alerts are created. */
    alertEmails?: string[];
    projectName: pulumi.Input<string>;
    /** DigitalOcean project environment: Development, Staging or Production. */
    projectEnvironment: "Development" | "Staging" | "Production";
    /**
     * false: no droplet, no attachment, no alerts; the free firewall and project stay
     * (the project then lists the volume only). Default true.
     */
    running?: boolean;
    /** The home volume to attach to the droplet and list in the project. Default none. */
    homeVolume?: digitalocean.Volume;
}

/** Alert thresholds from the original design: CPU over 95 %, memory or disk over 90 %. */
export const ALERTS = [
    { key: "cpu", type: "v1/insights/droplet/cpu", value: 95, description: "CPU over 95 % for 5 minutes" },
    { key: "memory", type: "v1/insights/droplet/memory_utilization_percent", value: 90, description: "memory over 90 % for 5 minutes" },
    { key: "disk", type: "v1/insights/droplet/disk_utilization_percent", value: 90, description: "disk over 90 % full for 5 minutes" },
] as const;

/** The droplet and what surrounds it: firewall, project, monitoring alerts, the home volume's attachment. */
export class Host extends pulumi.ComponentResource {
    /** Undefined while stopped (`running: false`). */
    public readonly droplet: digitalocean.Droplet | undefined;
    /** The home volume attached to the droplet; undefined while stopped or without a volume. */
    public readonly homeAttachment: digitalocean.VolumeAttachment | undefined;
    public readonly firewall: digitalocean.Firewall;
    public readonly project: digitalocean.Project;
    /** DigitalOcean monitoring alerts (CPU, memory, disk), one per metric; undefined when no alert emails are configured or while stopped. Not the stage alerts of Provisioning.alerts. */
    public readonly monitorAlerts: digitalocean.MonitorAlert[] | undefined;
    /** Undefined while stopped. */
    public readonly ipv4Address: pulumi.Output<string> | undefined;

    constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("workstation:index:Host", name, {}, opts);
        const running = args.running ?? true;

        this.droplet = !running
            ? undefined
            : new digitalocean.Droplet(
                  `${name}-droplet`,
                  {
                      name: args.dropletName,
                      region: args.region,
                      size: args.size,
                      image: args.image,
                      sshKeys: args.sshKeys,
                      userData: args.userData,
                      // The metrics agent feeds the alerts and the control panel's graphs.
                      monitoring: true,
                      backups: args.backups ?? false,
                      // Shut down through ACPI before power-off on resize or destroy, so disks are consistent.
                      gracefulShutdown: true,
                      tags: args.tags,
                  },
                  {
                      parent: this,
                      // The user data holds the host's private key: kept secret in the state, whatever the input.
                      additionalSecretOutputs: ["userData"],
                  },
              );
        this.ipv4Address = this.droplet?.ipv4Address;
        const dropletId = this.droplet?.id.apply(Number);
        const droplet = this.droplet;

        // The attachment goes with the droplet; the volume itself belongs to the Workstation
        // and stays. A new droplet gets a new attachment of the same volume.
        this.homeAttachment =
            droplet &&
            args.homeVolume &&
            new digitalocean.VolumeAttachment(
                `${name}-home-attachment`,
                {
                    dropletId: dropletId!,
                    volumeId: args.homeVolume.id,
                },
                { parent: this },
            );

        const everywhere = ["0.0.0.0/0", "::/0"];
        this.firewall = new digitalocean.Firewall(
            `${name}-firewall`,
            {
                name: pulumi.interpolate`${args.dropletName}-fw`,
                dropletIds: dropletId ? [dropletId] : [],
                // RDP is never opened: xrdp listens on 127.0.0.1 and is reached through SSH.
                inboundRules: [
                    { protocol: "tcp", portRange: "22", sourceAddresses: args.allowedSshCidrs },
                    { protocol: "icmp", sourceAddresses: everywhere },
                ],
                outboundRules: [
                    { protocol: "tcp", portRange: "1-65535", destinationAddresses: everywhere },
                    { protocol: "udp", portRange: "1-65535", destinationAddresses: everywhere },
                    { protocol: "icmp", destinationAddresses: everywhere },
                ],
            },
            { parent: this },
        );

        this.project = new digitalocean.Project(
            `${name}-project`,
            {
                name: args.projectName,
                description: "Cloud developer workstation managed by Pulumi",
                purpose: "Operational / Developer tooling",
                environment: args.projectEnvironment,
                resources: [...(droplet ? [droplet.dropletUrn] : []), ...(args.homeVolume ? [args.homeVolume.volumeUrn] : [])],
            },
            { parent: this },
        );

        const emails = args.alertEmails ?? [];
        this.monitorAlerts =
            !droplet || emails.length === 0
                ? undefined
                : ALERTS.map(
                      (a) =>
                          new digitalocean.MonitorAlert(
                              `${name}-alert-${a.key}`,
                              {
                                  type: a.type,
                                  compare: "GreaterThan",
                                  value: a.value,
                                  window: "5m",
                                  entities: [droplet.id],
                                  description: pulumi.interpolate`${args.dropletName}: ${a.description}`,
                                  alerts: { emails },
                                  enabled: true,
                              },
                              { parent: this },
                          ),
                  );

        this.registerOutputs({ ipv4Address: this.ipv4Address });
    }
}
