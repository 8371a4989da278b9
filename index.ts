// Reads the stack's config, builds the workstation, exports what a person needs to use it.
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./components/config";
import { WorkstationImage, imageFromStack } from "./components/image";
import { sshConfigBlock, sshKeyFile } from "./components/sshConfig";
import { Workstation } from "./components/workstation";

// When this `pulumi up` began, as near as the program can tell: its own start.
const upStartedAt = Date.now();
const stack = pulumi.getStack();
const config = loadConfig(stack);

// `role: image`: this stack bakes the image (components/image.ts) and exports only that.
const bake = config.role === "image" ? new WorkstationImage("image", { config, stack }) : undefined;
/** Image stacks: the snapshot's id (a workstation's `image`, or read through `imageStack`). */
export const snapshotId = bake?.outputs.apply((o) => o.snapshotId);
export const snapshotName = bake?.outputs.apply((o) => o.snapshotName);
/** Image stacks: when it was baked, epoch seconds. */
export const bakedAt = bake?.outputs.apply((o) => o.bakedAt);
/** Image stacks: package versions of the desktop and each IDE in the image. */
export const contents = bake?.outputs.apply((o) => o.contents);

const fromImage = config.role === "workstation" && config.imageStack ? imageFromStack(config.imageStack) : undefined;
// A workstation stack builds the workstation; an image stack builds nothing else.
const ws = config.role === "workstation" ? new Workstation("ws", { config, stack, fromImage, upStartedAt }) : undefined;
const running = ws?.provisioning;

const keyFile = sshKeyFile(stack);
// The pinned host key, in its own file so that an address reused by another droplet
// never meets a stale line in ~/.ssh/known_hosts; ssh expands the ~ itself.
const hostCheck = `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${keyFile}.known_hosts`;
/** `running` or `stopped` (no droplet: only the home volume is billed). */
export const state = ws?.state;
/** Running: `action` (`start`: this up created the droplet) and `readySeconds` from the up's start; stopped: `monthlyCost`. */
export const lifecycle = ws?.lifecycle;
export const ipv4Address = ws?.ipv4Address;
export const username = ws?.username;
/** `pulumi stack output knownHosts > ~/.ssh/workstation-<stack>.known_hosts`: ssh checks the host's key, no first-use prompt. */
export const knownHosts = ws?.knownHosts;
/** Save the key and the host's key first (README, Connecting): `privateKey` and `knownHosts`. */
export const sshCommand = ws?.ipv4Address && pulumi.interpolate`ssh -i ${keyFile} ${hostCheck} ${ws.username}@${ws.ipv4Address}`;
/** Keep it open, then point an RDP client at localhost:3389 (xrdp listens on 127.0.0.1 only). */
export const rdpTunnelCommand =
    config.desktop && ws?.ipv4Address
        ? pulumi.interpolate`ssh -i ${keyFile} ${hostCheck} -N -L 3389:127.0.0.1:3389 ${ws.username}@${ws.ipv4Address}`
        : undefined;
/** Append to ~/.ssh/config; then `ssh workstation-<stack>` and editors connect by name (README, "Connecting"). */
export const sshConfig = ws?.ipv4Address?.apply((ip) => sshConfigBlock({ stack, hostName: ip, user: ws.username, desktop: config.desktop }));
export const password = ws?.password;
export const privateKey = ws?.privateKey;
/** The droplet's price per month, while running. */
export const priceMonthly = ws?.priceMonthly;
/** The home volume: its name, size and what it costs per month, running or stopped. */
export const homeVolume = ws?.homeVolume ? { name: ws.homeVolume.name, sizeGb: config.homeVolumeGb, priceMonthly: ws.stoppedMonthlyCost } : undefined;
/** What the stack costs per month while stopped (the home volume), USD. */
export const stoppedMonthlyCost = ws?.stoppedMonthlyCost;
/** How to stop paying for the droplet (the home stays on its volume), or to start again. */
export const stopCommand = running ? "pulumi config set workstation:running false && pulumi up" : undefined;
export const startCommand = ws && !running ? "pulumi config set workstation:running true && pulumi up" : undefined;
export const timings = running?.timings;
export const alerts = running?.alerts;
/** Each stage against config `baseline`: ok, regressed or no-baseline. */
export const baselineRegression = running?.regression;
export const verification = running?.verification;
export const resources = running?.report.apply((r) => r.resources);
export const benchmark = running?.report.apply((r) => r.benchmark);
/** The droplet's benchmark against its previous report (a re-run on the same droplet). */
export const previousReportRegression = running?.report.apply((r) => r.regression);
/** The monitor's memory and CPU samples of the run, drawn by `npm run timeline`. */
export const resourceSamples = running?.report.apply((r) => r.samples ?? []);
