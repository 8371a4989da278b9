// The local test host from TypeScript: a thin wrapper over tools/local/testhost.sh, which does the
// work (image, netns, veth, systemd-nspawn, apt-cacher-ng, cleanup) and needs root.
//
// A host is a real Debian 13 system (systemd as PID 1, sshd, cloud-init with the NoCloud
// seed) in a network namespace of its own: guest 10.213.N.2, gateway 10.213.N.1 for index N.
// Its only way out is the shared apt-cacher-ng (proxyUrl), which the image's apt already uses.
// Environment read by the script: WS_CACHE_DIR, WS_STATE_DIR, WS_BOOT_TIMEOUT (see
// tools/local/README.md).

import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { serveStandinRepo, StandinRepo } from "./standinRepo";

export interface TestHost {
    name: string;
    /** The guest's address (10.213.N.2), where sshd listens on port 22. */
    ip: string;
    /** The host side of the veth (10.213.N.1): where the host reaches this machine. */
    gatewayIp: string;
    index: number;
    /** PID of the systemd-nspawn process on this machine. */
    pid: number;
    rootDir: string;
    /** From starting systemd-nspawn to `systemctl is-system-running --wait` answering over SSH. */
    bootSeconds: number;
}

export interface StartHostOptions {
    /** 1-10 characters of a-z, 0-9 and '-'. */
    name: string;
    /** 0-254: picks the /30 (10.213.N.0/30). Unique among running hosts. */
    index: number;
    /** Public keys for root's authorized_keys (the droplet's SSH keys). */
    authorizedKeys: string[];
    /** cloud-config user data, applied by cloud-init at first boot (the droplet's `userData`). */
    userData?: string;
    /** A baked image (bakeHost's tarball) to boot instead of the base image. */
    image?: string;
}

/** The apt proxy every test host uses (already configured in its apt). WS_PROXY_IP overrides, as for testhost.sh. */
export const PROXY_IP = process.env.WS_PROXY_IP || "10.213.255.1";
export const PROXY_PORT = 3142;

export const SCRIPT = path.join(__dirname, "testhost.sh");

/** Where testhost.sh keeps machine-wide state: the proxy and the netns registry (netns/wsth-NAME holds its state dir). */
const PROXY_RUN_DIR = process.env.WS_PROXY_RUN_DIR || "/run/workstation-testhost";

/** Runs testhost.sh; resolves with stdout, rejects with the script's stderr in the message. */
function run(args: string[], timeoutMs = 15 * 60 * 1000, env: NodeJS.ProcessEnv = process.env): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile("bash", [SCRIPT, ...args], { maxBuffer: 16 * 1024 * 1024, timeout: timeoutMs, killSignal: "SIGTERM", env }, (err, stdout, stderr) => {
            if (err) {
                const tail = stderr.trim().split("\n").slice(-40).join("\n");
                reject(new Error(`testhost.sh ${args[0]} ${args[1] ?? ""} failed: ${err.message.split("\n")[0]}\n${tail}`));
            } else {
                resolve(stdout);
            }
        });
    });
}

function lastLine(stdout: string): string {
    const lines = stdout.trim().split("\n");
    return lines[lines.length - 1] ?? "";
}

function parseHost(line: string): TestHost {
    const v = JSON.parse(line) as TestHost;
    for (const k of ["name", "ip", "gatewayIp", "rootDir"] as const) {
        if (typeof v[k] !== "string") throw new Error(`testhost.sh printed a host without ${k}: ${line}`);
    }
    for (const k of ["index", "pid", "bootSeconds"] as const) {
        if (typeof v[k] !== "number") throw new Error(`testhost.sh printed a host without ${k}: ${line}`);
    }
    return { name: v.name, ip: v.ip, gatewayIp: v.gatewayIp, index: v.index, pid: v.pid, rootDir: v.rootDir, bootSeconds: v.bootSeconds };
}

/** Builds the image tarball if it is not cached (about 70 s), and returns its path. */
export async function ensureImage(): Promise<string> {
    return lastLine(await run(["image"]));
}

/**
 * Boots a host and resolves once it is ready: SSH as root works with `authorizedKeys`,
 * cloud-init has applied `userData`, and systemd reports running or degraded.
 * On failure nothing of the host is left behind.
 */
export async function startHost(opts: StartHostOptions): Promise<TestHost> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-testhost-"));
    try {
        const keys = path.join(dir, "authorized_keys");
        fs.writeFileSync(keys, opts.authorizedKeys.map((k) => k.trim()).join("\n") + "\n", { mode: 0o600 });
        const args = ["up", opts.name, "--index", String(opts.index), "--authorized-keys", keys];
        if (opts.userData !== undefined) {
            const ud = path.join(dir, "user-data");
            fs.writeFileSync(ud, opts.userData, { mode: 0o600 });
            args.push("--user-data", ud);
        }
        if (opts.image !== undefined) args.push("--image", opts.image);
        return parseHost(lastLine(await run(args)));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * Stops the host (unless generalise already powered it off), generalises its root as a
 * cloud builder is (provisioning/generalise.sh), packs it into `out` and removes the host.
 */
export async function bakeHost(name: string, out: string): Promise<string> {
    return lastLine(await run(["bake", name, "--out", out]));
}

function cacheDir(): string {
    return process.env.WS_CACHE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "workstation");
}

/** Where baked images of the mock cloud's snapshots are kept: `<cache>/images/snapshots/<id>.tar.zst`. */
export function snapshotTarball(id: string): string {
    return path.join(cacheDir(), "images", "snapshots", `${id}.tar.zst`);
}

/** Where each image's root is extracted once, shared read-only by the hosts booted from it: `<cache>/images/roots/<key>/root`. */
export function imageRootsDir(): string {
    return path.join(cacheDir(), "images", "roots");
}

/**
 * Reboots a running host as `reboot` does a droplet: an orderly shutdown (every service,
 * session and process of the host gone), then its root booted again at the same address.
 * Resolves with the host as it runs now (a new pid). Volumes' device nodes do not survive
 * it: the next run's volume attachment makes them again.
 */
export async function rebootHost(name: string): Promise<TestHost> {
    return parseHost(lastLine(await run(["reboot", name])));
}

/** Stops the host, deletes its netns and veth, removes its root dir. No-op if it is not running. */
export async function stopHost(name: string): Promise<void> {
    await run(["down", name]);
}

/** Stops every host of this state dir (and strays of a crash), then the proxy if no host is left. */
export async function stopAllHosts(): Promise<void> {
    await run(["down", "--all"]);
}

/** Every host of this state dir, running or half-made (an `up` killed with SIGKILL leaves one without host.json). */
export async function hostNames(): Promise<string[]> {
    return (await run(["names"])).split("\n").filter((l) => l.trim() !== "");
}

/**
 * Is the suite run that named its host NAME (`<prefix>-<its mocha's pid % 10000>`, as the
 * e2e and lifecycle suites do) still running? A host whose run is gone is a leftover.
 */
export function suiteRunAlive(name: string): boolean {
    const suffix = Number(/-(\d{4})$/.exec(name)?.[1] ?? NaN);
    if (Number.isNaN(suffix)) return false;
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry) || Number(entry) % 10000 !== suffix) continue;
        try {
            if (fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("mocha")) return true;
        } catch {
            // gone meanwhile
        }
    }
    return false;
}

/**
 * Stops what an earlier run of a suite left behind when it was killed before its cleanup
 * (its hosts, half-made or running), so that the suite starts as on a clean machine and
 * never on "host NAME exists already". `isLeftover` picks that suite's own names only:
 * hosts of other suites and other users are never touched. Returns the names stopped.
 */
export async function clearLeftoverHosts(isLeftover: (name: string) => boolean): Promise<string[]> {
    const stale = (await hostNames()).filter(isLeftover);
    for (const name of stale) {
        process.stderr.write(`testhost: stopping ${name}, left by an earlier run\n`);
        await stopHost(name);
    }
    // The same names held by a run with another state dir (an empty-cache run killed before
    // it cleaned up): its namespace would stop our up. Down them in the state dir that made them.
    const registry = path.join(PROXY_RUN_DIR, "netns");
    const entries = fs.existsSync(registry) ? fs.readdirSync(registry) : [];
    for (const entry of entries) {
        const name = entry.replace(/^wsth-/, "");
        if (!entry.startsWith("wsth-") || stale.includes(name) || !isLeftover(name) || !fs.existsSync(`/run/netns/${entry}`)) continue;
        const stateDir = fs.readFileSync(path.join(registry, entry), "utf8").trim();
        if (stateDir === "") continue;
        process.stderr.write(`testhost: stopping ${name} of state dir ${stateDir}, left by an earlier run\n`);
        await run(["down", name], undefined, { ...process.env, WS_STATE_DIR: stateDir });
        stale.push(name);
    }
    return stale;
}

/** The hosts of this state dir that are up. */
export async function listHosts(): Promise<TestHost[]> {
    const out = await run(["list"]);
    return out
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map(parseHost);
}

/**
 * The apt proxy as the host reaches it. It is the same fixed address for every host (a /32
 * on this machine's lo, routed through each host's own veth), so that a host coming or going
 * never restarts the proxy under another host's downloads.
 */
export function proxyUrl(_host: TestHost): string {
    return `http://${PROXY_IP}:${PROXY_PORT}`;
}

/** Serves the stand-in IDE repository on this host's gateway (see standinRepo.ts). */
export async function serveStandinFor(host: TestHost): Promise<StandinRepo> {
    return serveStandinRepo([host.gatewayIp]);
}

/** DigitalOcean's metadata service address, as droplets reach it. */
export const METADATA_IP = "169.254.169.254";
/** Where DigitalOcean serves a droplet's user data. */
export const METADATA_USER_DATA_URL = `http://${METADATA_IP}/metadata/v1/user-data`;

/**
 * A stand-in for the droplet's metadata service: `METADATA_IP` on the host's loopback
 * (inside its own network namespace, so nothing leaves it) and a small HTTP server run by
 * the host's systemd as root, serving the user data cloud-init received at
 * /metadata/v1/user-data, as DigitalOcean does. Its files are root's only (0700), so
 * the network path is the only way in, as on a droplet. Run it before harden: it logs in
 * as root with the harness key.
 */
export async function serveMetadata(host: TestHost): Promise<void> {
    const script = [
        "set -euo pipefail",
        `ip addr replace ${METADATA_IP}/32 dev lo`,
        "install -d -m 0700 /run/ws-metadata-standin",
        "install -d -m 0755 /run/ws-metadata-standin/metadata/v1",
        "install -m 0644 /var/lib/cloud/instance/user-data.txt /run/ws-metadata-standin/metadata/v1/user-data",
        "systemctl stop ws-metadata-standin.service 2>/dev/null || true",
        `systemd-run --quiet --unit=ws-metadata-standin python3 -m http.server 80 --bind ${METADATA_IP} --directory /run/ws-metadata-standin`,
        `for _ in $(seq 100); do curl -sf -o /dev/null ${METADATA_USER_DATA_URL} && exit 0; sleep 0.1; done`,
        "echo 'the stand-in metadata server did not answer within 10 s' >&2; journalctl -u ws-metadata-standin --no-pager | tail -n 20 >&2; exit 1",
    ].join("\n");
    await run(["ssh", host.name, script], 60_000);
}

/**
 * When a process started, epoch ms: its start time since boot (/proc/PID/stat, field 22,
 * in clock ticks of 1/100 s on Linux) after the boot time (/proc/stat btime).
 */
export function processStartMs(pid: number): number {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces: field 3 first.
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    const btime = Number(/^btime (\d+)$/m.exec(fs.readFileSync("/proc/stat", "utf8"))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) throw new Error(`cannot read the start time of process ${pid}`);
    return btime * 1000 + ticks * 10;
}
