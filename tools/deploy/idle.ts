// Idle auto-stop (`npm run deploy -- stop-idle`): what the host's activity recorder
// (provisioning/monitor.sh, record-activity) wrote, read over SSH with the stack's own key
// and pinned host key, and what to do about it. The decision is pure; the SSH reads and
// writes come in through IdleHosts, so the tests drive it with fakes.

/** Where the recorder writes, and the marker a warning leaves (the recorder clears it on activity). */
export const ACTIVITY_FILE = "/var/lib/workstation/activity.json";
export const WARNED_FILE = "/var/lib/workstation/idle-warned";
/** A logged-in user is warned this many minutes before the stop (or at the limit, then stopped on the next run). */
export const WARN_MINUTES = 5;
/** The recorder runs every minute; a record older than this means it stopped, and nothing is stopped on it. */
export const STALE_MINUTES = 10;

/** activity.json as the recorder writes it (epoch seconds, host clock). */
export interface Activity {
    updatedAt: number;
    lastActiveAt: number;
    reason: string;
    sessions: { ssh: number; xrdp: number };
    cpuPercent: number;
    /** When a warning was left and no activity came since; null otherwise. */
    warnedAt: number | null;
}

/** What is needed to reach a stack's host: from its outputs. */
export interface HostTarget {
    host: string;
    user: string;
    privateKey: string;
    /** The host's public key as `type base64` (from the knownHosts output), the only one accepted. */
    hostKey: string;
}

export interface IdleHosts {
    /** The host's activity.json and its clock (`date +%s`), over SSH. Throws when unreachable. */
    read(target: HostTarget): Promise<{ text: string; now: number }>;
    /** Writes the warning marker and sends `message` to every terminal (wall). */
    warn(target: HostTarget, message: string): Promise<void>;
}

export type IdleDecision =
    | { kind: "off" }
    | { kind: "stale"; minutes: number }
    | { kind: "active"; idleMinutes: number }
    | { kind: "warn"; idleMinutes: number }
    | { kind: "stop"; idleMinutes: number };

/** Parses activity.json, refusing anything but the recorder's shape (a broken record stops nothing). */
export function parseActivity(text: string): Activity {
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch {
        throw new Error(`${ACTIVITY_FILE} is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
    }
    const a = doc as Partial<Activity> | null;
    const whole = (v: unknown): boolean => typeof v === "number" && Number.isInteger(v) && v >= 0;
    if (
        !a ||
        !whole(a.updatedAt) ||
        !whole(a.lastActiveAt) ||
        typeof a.reason !== "string" ||
        !a.sessions ||
        !whole(a.sessions.ssh) ||
        !whole(a.sessions.xrdp) ||
        typeof a.cpuPercent !== "number" ||
        !(a.warnedAt === null || whole(a.warnedAt))
    ) {
        throw new Error(`${ACTIVITY_FILE} lacks updatedAt, lastActiveAt, reason, sessions {ssh, xrdp}, cpuPercent or warnedAt: ${text.slice(0, 200)}`);
    }
    return a as Activity;
}

/**
 * Whether to stop a host idle since `activity.lastActiveAt`, at host time `now`, with a
 * limit of `limitMinutes` (0: never). Someone logged in is warned first and stopped on a
 * later run only if nothing happened since (the recorder clears `warnedAt` on activity).
 */
export function decide(activity: Activity, now: number, limitMinutes: number): IdleDecision {
    if (limitMinutes === 0) return { kind: "off" };
    const age = (now - activity.updatedAt) / 60;
    if (age > STALE_MINUTES) return { kind: "stale", minutes: Math.floor(age) };
    // A keep-alive file touched into the future keeps the host active until then.
    const idleMinutes = Math.max(0, Math.floor((now - activity.lastActiveAt) / 60));
    const loggedIn = activity.sessions.ssh + activity.sessions.xrdp > 0;
    if (idleMinutes < limitMinutes - WARN_MINUTES) return { kind: "active", idleMinutes };
    if (loggedIn && activity.warnedAt === null) return { kind: "warn", idleMinutes };
    if (idleMinutes < limitMinutes) return { kind: "active", idleMinutes };
    return { kind: "stop", idleMinutes };
}

/** The known_hosts line the program exports (`ip type base64`), as the key ssh accepts (`type base64`). */
export function hostKeyFromKnownHosts(line: string): string {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 3 || !parts[1].startsWith("ssh-")) throw new Error(`knownHosts ${JSON.stringify(line.slice(0, 60))} is not "host type key"`);
    return `${parts[1]} ${parts[2]}`;
}

/** The SSH target from a running stack's outputs; undefined when the stack is stopped (no host). */
export function targetFromOutputs(outputs: Record<string, unknown>): HostTarget | undefined {
    if (outputs.state === "stopped") return undefined;
    const need = ["ipv4Address", "username", "privateKey", "knownHosts"];
    const missing = need.filter((k) => typeof outputs[k] !== "string" || outputs[k] === "");
    if (missing.length) throw new Error(`the stack's outputs lack ${missing.join(", ")}; run up first`);
    return {
        host: outputs.ipv4Address as string,
        user: outputs.username as string,
        privateKey: outputs.privateKey as string,
        hostKey: hostKeyFromKnownHosts(outputs.knownHosts as string),
    };
}

export function warningMessage(idleMinutes: number, limitMinutes: number): string {
    return (
        `workstation: no activity for ${idleMinutes} min; it stops (running: false) at ${limitMinutes} min idle on the next check ` +
        "(the home is kept). Type anything, or touch ~/.workstation-keepalive, to keep it."
    );
}
