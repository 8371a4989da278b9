// The test host's link, shaped like a droplet's path to a vendor CDN (see tools/bench/README.md,
// "The link"). tc on both ends of the host's veth pair, applied from outside the host:
// the host side `wsth<index>` shapes what the host downloads, `eth0` inside the netns
// `wsth-<name>` what it sends. Everything a host fetches (the Debian archive through the
// shared apt-cacher-ng, the stand-in IDE repositories on its gateway) crosses that pair.
//
// tbf sets the rate. A delay needs netem, which this machine's kernel lacks ("Specified qdisc
// kind is unknown"), and no other qdisc here (tbf, htb, pfifo) can hold a packet for a time:
// a delay is accepted only where netem exists (probed before anything boots), and the
// default has none.

import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export type LinkSpec = { kind: "none" } | { kind: "shaped"; text: string; rateBitsPerSecond: number; delayMs: number };

/** The default link: see tools/bench/README.md, "The link", for the figure and why no delay. */
export const DEFAULT_SHAPED = "200mbit";
/** --link without the flag: the shaped link and the unshaped one, both measured. */
export const DEFAULT_LINKS = `${DEFAULT_SHAPED},none`;

const UNITS: Record<string, number> = { kbit: 1e3, mbit: 1e6, gbit: 1e9 };
const LINK_FORM = `"none" or RATE[:DELAY] with RATE a number and kbit, mbit or gbit (e.g. 200mbit, 1.5gbit) and DELAY the round-trip time in ms (e.g. 20ms)`;

export class LinkError extends Error {}

/** One link: `none`, or `RATE[:DELAY]` (`200mbit`, `200mbit:20ms`). */
export function parseLink(text: string, flag = "--link"): LinkSpec {
    const t = text.trim();
    if (t === "none") return { kind: "none" };
    const m = /^(\d+(?:\.\d+)?)(kbit|mbit|gbit)(?::(\d+(?:\.\d+)?)ms)?$/.exec(t);
    if (!m) throw new LinkError(`${flag} ${JSON.stringify(text)}: not ${LINK_FORM}`);
    const rate = Number(m[1]) * UNITS[m[2]];
    if (rate < 1e6 || rate > 100e9) throw new LinkError(`${flag} ${JSON.stringify(text)}: rate ${m[1]}${m[2]} is outside 1mbit to 100gbit`);
    const delayMs = m[3] === undefined ? 0 : Number(m[3]);
    if (delayMs > 1000) throw new LinkError(`${flag} ${JSON.stringify(text)}: delay ${m[3]}ms is above 1000ms`);
    return { kind: "shaped", text: t, rateBitsPerSecond: rate, delayMs };
}

/** A comma-separated list of links: at most one shaped and at most one `none`, shaped first. */
export function parseLinks(text: string, flag = "--link"): LinkSpec[] {
    const parts = text
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
    if (parts.length === 0)
        throw new LinkError(`${flag} ${JSON.stringify(text)}: empty; allowed: a comma-separated list of ${LINK_FORM}, at most one of each kind`);
    const links = parts.map((p) => parseLink(p, flag));
    const shaped = links.filter((l) => l.kind === "shaped");
    const none = links.filter((l) => l.kind === "none");
    if (shaped.length > 1 || none.length > 1) {
        throw new LinkError(`${flag} ${JSON.stringify(text)}: at most one shaped link and one "none" (the figures are named by shaped/unshaped)`);
    }
    return [...shaped, ...none];
}

/** The link's name in results and host logs: "none" or its text. */
export function linkLabel(l: LinkSpec): string {
    return l.kind === "none" ? "none" : l.text;
}

/**
 * tbf's bucket: at least one 64 KiB GSO packet (veth hands tbf whole TSO segments, and a
 * bucket smaller than a packet drops it), and 10 ms of the rate, so that the timer's
 * granularity does not cap the rate below what was asked.
 */
export function tbfBurstBytes(rateBitsPerSecond: number): number {
    return Math.max(64 * 1024, Math.ceil((rateBitsPerSecond / 8) * 0.01));
}

/**
 * The tc commands (argv for `tc`) that shape one host's link, both directions. Each end
 * gets tbf at the rate; with a delay, netem below tbf adds half the round trip on each end.
 * `replace` makes them idempotent (a second call re-shapes); `none` removes any shaping.
 */
export function tcCommands(link: LinkSpec, hostVeth: string, netns: string): string[][] {
    const ends: { where: string[]; dev: string }[] = [
        { where: [], dev: hostVeth },
        { where: ["-n", netns], dev: "eth0" },
    ];
    // Unshaped: the veth's own default (noqueue) back; `del` fails where nothing was added, which is fine.
    if (link.kind === "none") return ends.map((e) => [...e.where, "qdisc", "del", "dev", e.dev, "root"]);
    const burst = tbfBurstBytes(link.rateBitsPerSecond);
    const out: string[][] = [];
    for (const e of ends) {
        // latency: how long a packet may queue in tbf before it is dropped; 100 ms keeps one
        // TCP window at these rates without the drops that make throughput saw-tooth.
        out.push([
            ...e.where,
            "qdisc",
            "replace",
            "dev",
            e.dev,
            "root",
            "handle",
            "1:",
            "tbf",
            "rate",
            `${link.rateBitsPerSecond}bit`,
            "burst",
            String(burst),
            "latency",
            "100ms",
        ]);
        if (link.delayMs > 0)
            out.push([...e.where, "qdisc", "replace", "dev", e.dev, "parent", "1:1", "handle", "10:", "netem", "delay", `${link.delayMs / 2}ms`]);
    }
    return out;
}

function tc(args: string[]): Promise<{ code: number; stderr: string }> {
    return new Promise((resolve) => {
        execFile("tc", args, { timeout: 10_000 }, (err, _stdout, stderr) => {
            resolve({ code: err ? 1 : 0, stderr: String(stderr).trim() });
        });
    });
}

/** Whether this kernel has netem (in a throwaway network namespace: nothing here is touched). */
export function netemAvailable(): Promise<boolean> {
    return new Promise((resolve) => {
        execFile("unshare", ["-n", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], { timeout: 10_000 }, (err) => resolve(!err));
    });
}

/** Refuses a delay this machine cannot apply, before anything boots. */
export async function checkLinksApplicable(links: readonly LinkSpec[], hasNetem: () => Promise<boolean> = netemAvailable): Promise<void> {
    const delayed = links.find((l) => l.kind === "shaped" && l.delayMs > 0);
    if (delayed && delayed.kind === "shaped" && !(await hasNetem())) {
        const rateOnly = delayed.text.split(":")[0];
        throw new LinkError(
            `--link ${delayed.text}: this kernel has no netem qdisc (tc: "Specified qdisc kind is unknown"), and no other qdisc here can delay a packet; use --link ${rateOnly} (rate only, see tools/bench/README.md "The link")`,
        );
    }
}

/** testhost.sh's state dir, where each host keeps its index (the same default as the script). */
export function testhostStateDir(): string {
    const cache = process.env.WS_CACHE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "workstation");
    return process.env.WS_STATE_DIR || path.join(cache, "run");
}

/** Shapes host `name` (index `index`) now; throws with tc's message when a command fails. */
export async function applyLink(link: LinkSpec, name: string, index: number): Promise<void> {
    for (const cmd of tcCommands(link, `wsth${index}`, `wsth-${name}`)) {
        const r = await tc(cmd);
        if (r.code !== 0 && link.kind !== "none") throw new Error(`tc ${cmd.join(" ")}: ${r.stderr || `exit ${r.code}`}`);
    }
}

/** What `tc qdisc show` says of both ends (for the record and the check that shaping held). */
export async function linkState(name: string, index: number): Promise<string> {
    const show = (args: string[]): Promise<string> =>
        new Promise((resolve) => execFile("tc", args, { timeout: 10_000 }, (_e, stdout) => resolve(String(stdout).trim())));
    return `${await show(["qdisc", "show", "dev", `wsth${index}`, "root"])} | ${await show(["-n", `wsth-${name}`, "qdisc", "show", "dev", "eth0", "root"])}`;
}

/**
 * For hosts the runner boots (it offers no hook between boot and the first stage): polls
 * until the host's veth pair exists and shapes it, long before the first stage (the root's
 * extraction and the boot take seconds). `shapedAt()` says when it held (epoch ms), so the
 * case can check that it came before the first stage began.
 */
export class LinkWatcher {
    private timer?: NodeJS.Timeout;
    private done = false;
    private at?: number;
    private index?: number;
    private lastError?: string;
    private busy = false;

    constructor(
        private readonly link: LinkSpec,
        private readonly name: string,
        private readonly intervalMs = 50,
    ) {}

    start(): void {
        if (this.link.kind === "none") {
            this.done = true;
            return;
        }
        this.timer = setInterval(() => void this.tick(), this.intervalMs);
    }

    private async tick(): Promise<void> {
        if (this.done || this.busy) return;
        this.busy = true;
        try {
            const indexFile = path.join(testhostStateDir(), "hosts", this.name, "index");
            if (!fs.existsSync(indexFile) || !fs.existsSync(`/run/netns/wsth-${this.name}`)) return;
            const index = Number(fs.readFileSync(indexFile, "utf8").trim());
            await applyLink(this.link, this.name, index);
            this.index = index;
            this.at = Date.now();
            this.done = true;
            this.stop();
        } catch (err) {
            this.lastError = (err as Error).message; // the pair is being made: try again
        } finally {
            this.busy = false;
        }
    }

    stop(): void {
        if (this.timer) clearInterval(this.timer);
        this.timer = undefined;
    }

    /** Epoch ms when shaping was applied; undefined when it never was (for `none`: 0). */
    shapedAt(): number | undefined {
        return this.link.kind === "none" ? 0 : this.at;
    }

    error(): string | undefined {
        return this.lastError;
    }

    /**
     * After the run, on the host still up: both ends still carry the rate (a link brought up
     * after tc could in principle have been given a default qdisc instead). An error message,
     * or undefined when the shaping held (or there was none to hold).
     */
    async check(): Promise<string | undefined> {
        if (this.link.kind === "none" || this.index === undefined) return undefined;
        const state = await linkState(this.name, this.index);
        const ends = state.split(" | ");
        return ends.length === 2 && ends.every((e) => /\btbf\b/.test(e))
            ? undefined
            : `the link ${this.link.text} did not hold to the end of the run: tc shows "${state}"`;
    }
}
