// Rules on digitalocean.Firewall inbound rules: no remote-desktop ports, SSH not open to the world.
import * as digitalocean from "@pulumi/digitalocean";
import { ResourceValidationArgs, ResourceValidationPolicy, ReportViolation, validateResourceOfType } from "@pulumi/policy";
import { PortRange, formatRange, isProd, isWorld, overlaps, parsePortRange, tagsOf, withDefaults } from "./shared";

/** The parts of an inbound rule that the rules read. */
interface InboundRule {
    protocol?: string;
    portRange?: string;
    sourceAddresses?: string[];
}

function inboundRules(value: unknown): InboundRule[] {
    return Array.isArray(value) ? (value as InboundRule[]) : [];
}

/** How a message names a rule's sources. */
function describeSources(rule: InboundRule): string {
    const addresses = Array.isArray(rule.sourceAddresses) ? rule.sourceAddresses : [];
    return addresses.length > 0 ? addresses.join(", ") : "its sources";
}

/** TCP and UDP rules carry ports; ICMP does not. */
function portsOf(rule: InboundRule): PortRange | undefined {
    const protocol = String(rule.protocol ?? "").toLowerCase();
    if (protocol !== "tcp" && protocol !== "udp") return undefined;
    return parsePortRange(rule.portRange);
}

export interface RemoteDesktopPortsConfig {
    forbiddenPortRanges: string[];
}
const REMOTE_DESKTOP_DEFAULTS: RemoteDesktopPortsConfig = {
    // RDP; VNC over HTTP (58xx); VNC displays :0 to :10 (59xx).
    forbiddenPortRanges: ["3389", "5800-5810", "5900-5910"],
};

export const firewallNoRemoteDesktopPorts: ResourceValidationPolicy = {
    name: "firewall-no-remote-desktop-ports",
    description:
        "No firewall rule opens an RDP or VNC port (3389, 5800-5810, 5900-5910 by default; any overlapping range, " +
        "TCP or UDP) to any source: xrdp listens on 127.0.0.1 and is reached through `ssh -L 3389:localhost:3389`.",
    enforcementLevel: "mandatory",
    severity: "critical",
    configSchema: {
        properties: {
            forbiddenPortRanges: {
                type: "array",
                items: { type: "string", pattern: "^\\d+(-\\d+)?$" },
                default: REMOTE_DESKTOP_DEFAULTS.forbiddenPortRanges,
            },
        },
    },
    validateResource: validateResourceOfType(digitalocean.Firewall, (firewall, args, reportViolation) => {
        const { forbiddenPortRanges } = withDefaults(args.getConfig<Partial<RemoteDesktopPortsConfig>>(), REMOTE_DESKTOP_DEFAULTS);
        const forbidden = forbiddenPortRanges.map((text) => ({ text, range: parsePortRange(text) }));
        for (const rule of inboundRules(firewall.inboundRules)) {
            const ports = portsOf(rule);
            if (!ports) continue;
            const hits = forbidden.filter((f) => f.range !== undefined && overlaps(ports, f.range)).map((f) => f.text);
            if (hits.length > 0) {
                reportViolation(
                    `Firewall "${args.name}" opens ${String(rule.protocol).toLowerCase()} ${formatRange(ports)} ` +
                        `to ${describeSources(rule)}, overlapping remote-desktop ports ${hits.join(", ")}: ` +
                        "never expose RDP or VNC; tunnel it over SSH (ssh -L 3389:localhost:3389).",
                );
            }
        }
    }),
};

/** Reports each inbound rule that opens TCP 22 to the whole internet. */
function checkSshWorldOpen(firewall: { inboundRules?: unknown }, args: ResourceValidationArgs, reportViolation: ReportViolation, where: string): void {
    for (const rule of inboundRules(firewall.inboundRules)) {
        if (String(rule.protocol ?? "").toLowerCase() !== "tcp") continue;
        const ports = portsOf(rule);
        if (!ports || !overlaps(ports, { from: 22, to: 22 })) continue;
        const world = (Array.isArray(rule.sourceAddresses) ? rule.sourceAddresses : []).filter(isWorld);
        if (world.length > 0) {
            reportViolation(
                `Firewall "${args.name}" opens SSH (tcp ${formatRange(ports)}) to ${world.join(", ")}${where}: ` +
                    "restrict sourceAddresses to the CIDRs you connect from.",
            );
        }
    }
}

function firewallIsProd(firewall: { tags?: unknown }, args: ResourceValidationArgs): boolean {
    return isProd({ urn: args.urn, stackTags: args.stackTags, tags: tagsOf(firewall.tags) });
}

const ENVIRONMENT_RULE =
    "A stack is prod when its name is prod, production or prod-*, its Pulumi stack tag environment is prod, " +
    "or the firewall targets the tag environment:prod.";

export const firewallSshNotWorldOpen: ResourceValidationPolicy = {
    name: "firewall-ssh-not-world-open",
    description:
        "Outside prod, SSH open to 0.0.0.0/0 or ::/0 is flagged: a public SSH port sees thousands of login attempts " +
        "a day, and sshd then drops connections, the provisioner's included. " +
        ENVIRONMENT_RULE,
    enforcementLevel: "advisory",
    severity: "medium",
    configSchema: { properties: {} },
    validateResource: validateResourceOfType(digitalocean.Firewall, (firewall, args, reportViolation) => {
        if (firewallIsProd(firewall, args)) args.notApplicable("prod stack: firewall-ssh-not-world-open-prod applies");
        checkSshWorldOpen(firewall, args, reportViolation, "");
    }),
};

export const firewallSshNotWorldOpenProd: ResourceValidationPolicy = {
    name: "firewall-ssh-not-world-open-prod",
    description: "In prod, SSH is never open to 0.0.0.0/0 or ::/0. " + ENVIRONMENT_RULE,
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: { properties: {} },
    validateResource: validateResourceOfType(digitalocean.Firewall, (firewall, args, reportViolation) => {
        if (!firewallIsProd(firewall, args)) args.notApplicable("not a prod stack: firewall-ssh-not-world-open applies");
        checkSshWorldOpen(firewall, args, reportViolation, " in a prod stack");
    }),
};

export const firewallPolicies: ResourceValidationPolicy[] = [firewallNoRemoteDesktopPorts, firewallSshNotWorldOpen, firewallSshNotWorldOpenProd];
