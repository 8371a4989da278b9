// Reads the stack's config, builds the workstation, exports what a person needs to use it.
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./components/config";
import { sshConfigBlock } from "./components/sshConfig";
import { Workstation } from "./components/workstation";

const stack = pulumi.getStack();
const config = loadConfig(stack);
const ws = new Workstation("ws", { config, stack });
const running = ws.provisioning;

const keyFile = `~/.ssh/workstation-${stack}`;
// The pinned host key, in its own file so that an address reused by another droplet
// never meets a stale line in ~/.ssh/known_hosts; ssh expands the ~ itself.
const hostCheck = `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${keyFile}.known_hosts`;
/** `running` or `stopped` (no droplet: only the home volume is billed). */
export const state = ws.state;
export const ipv4Address = ws.ipv4Address;
export const username = ws.username;
/** `pulumi stack output knownHosts > ~/.ssh/workstation-<stack>.known_hosts`: ssh checks the host's key, no first-use prompt. */
export const knownHosts = ws.knownHosts;
/** Save the key and the host's key first (README, Connecting): `privateKey` and `knownHosts`. */
export const sshCommand = ws.ipv4Address && pulumi.interpolate`ssh -i ${keyFile} ${hostCheck} ${ws.username}@${ws.ipv4Address}`;
/** Keep it open, then point an RDP client at localhost:3389 (xrdp listens on 127.0.0.1 only). */
export const rdpTunnelCommand = config.desktop && ws.ipv4Address
    ? pulumi.interpolate`ssh -i ${keyFile} ${hostCheck} -N -L 3389:127.0.0.1:3389 ${ws.username}@${ws.ipv4Address}`
    : undefined;
/** Append to ~/.ssh/config; then `ssh workstation-<stack>` and editors connect by name (README, "Connecting"). */
export const sshConfig = ws.ipv4Address?.apply((ip) => sshConfigBlock({ stack, hostName: ip, user: ws.username, desktop: config.desktop }));
export const password = ws.password;
export const privateKey = ws.privateKey;
/** The droplet's price per month, while running. */
export const priceMonthly = ws.priceMonthly;
/** The home volume: its name, size and what it costs per month, running or stopped. */
export const homeVolume = ws.homeVolume
    ? { name: ws.homeVolume.name, sizeGb: config.homeVolumeGb, priceMonthly: ws.stoppedMonthlyCost }
    : undefined;
/** What the stack costs per month while stopped (the home volume), USD. */
export const stoppedMonthlyCost = ws.stoppedMonthlyCost;
/** How to stop paying for the droplet (the home stays on its volume), or to start again. */
export const stopCommand = running ? "pulumi config set workstation:running false && pulumi up" : undefined;
export const startCommand = running ? undefined : "pulumi config set workstation:running true && pulumi up";
export const timings = running?.timings;
export const alerts = running?.alerts;
export const regression = running?.regression;
export const verification = running?.verification;
export const resources = running?.report.apply((r) => r.resources);
export const benchmark = running?.report.apply((r) => r.benchmark);
export const hostRegression = running?.report.apply((r) => r.regression);
/** The monitor's memory and CPU samples of the run, drawn by `npm run timeline`. */
export const resourceSamples = running?.report.apply((r) => r.samples ?? []);
