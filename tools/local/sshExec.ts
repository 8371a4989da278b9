// Remote execution over real SSH (ssh2), with the connection semantics of
// @pulumi/command's remote.Command: dial retries with backoff (100 ms x1.5, capped at
// 5 s) up to dialErrorLimit failed dials (-1: no limit, bounded here by a total
// timeout), each dial bounded by perDialTimeout seconds; the command's stdin is
// written and closed; a non-zero exit is an error carrying the output's tail.
// With a `hostKey`, only that key is accepted and only its type offered, as the
// provider does (ssh.ParseAuthorizedKey, ssh.FixedHostKey, HostKeyAlgorithms).

import * as crypto from "crypto";
import { Client, ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from "ssh2";

export interface SshTarget {
    host: string;
    port?: number;
    user: string;
    privateKey?: string;
    password?: string;
    /**
     * The expected host key, an authorized_keys line (`ssh-ed25519 AAAA… [comment]`), as
     * @pulumi/command's `connection.hostKey`. Absent: any host key is accepted.
     */
    hostKey?: string;
    /** Names the connection in errors (the stage's resource name). */
    label?: string;
}

export interface DialOptions {
    /** Failed dials tolerated before giving up; -1 retries until `totalDialTimeoutMs`. Default 10 (as @pulumi/command). */
    dialErrorLimit?: number;
    /** Seconds for one dial (TCP connect + handshake + auth). Default 15 (as @pulumi/command). */
    perDialTimeout?: number;
    /** Upper bound for all dial attempts together, in ms. Default 10 minutes. */
    totalDialTimeoutMs?: number;
    /** Called after each failed dial. */
    onDialError?: (attempt: number, err: Error) => void;
}

export interface ExecOptions extends DialOptions {
    command: string;
    stdin?: string;
    /** Output as it arrives, for progress display. */
    onStdout?: (chunk: string) => void;
    onStderr?: (chunk: string) => void;
    /** Fails with a timeout after this many ms of running (not dialing). Default: none. */
    execTimeoutMs?: number;
}

export interface ExecResult {
    code: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
    /** Dials made, including the one that succeeded. */
    dials: number;
}

/** A command that ran and exited non-zero (or was killed). */
export class RemoteCommandError extends Error {
    constructor(
        message: string,
        readonly result: ExecResult,
    ) {
        super(message);
        this.name = "RemoteCommandError";
    }
}

/** Could not get a session at all. */
export class DialError extends Error {
    constructor(
        message: string,
        readonly attempts: number,
        readonly lastError: Error | undefined,
    ) {
        super(message);
        this.name = "DialError";
    }
}

/**
 * The host answered with a key other than the pinned one. Nothing was sent to it
 * beyond the key exchange: no authentication, no command.
 */
export class HostKeyMismatchError extends Error {
    constructor(
        readonly target: string,
        readonly expectedFingerprint: string,
        readonly presentedFingerprint: string,
    ) {
        super(
            `host key mismatch: ${target} presented ${presentedFingerprint}, expected ${expectedFingerprint} (connection.hostKey); refused before authentication, no command ran`,
        );
        this.name = "HostKeyMismatchError";
    }
}

/** The key type and wire-format blob of an authorized_keys line, as ssh.ParseAuthorizedKey reads it (no options prefix). */
export function parseHostKey(line: string): { type: string; blob: Buffer } {
    const [type, b64] = line.trim().split(/\s+/);
    const blob = Buffer.from(b64 ?? "", "base64");
    // The blob starts with its own type name; a line whose two disagree is not a key.
    const inner = blob.length >= 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1") : "";
    if (!type || !b64 || inner !== type) throw new Error(`failed to parse host key: ${JSON.stringify(line)} is not an OpenSSH public key line`);
    return { type, blob };
}

/** `SHA256:…` of a key blob, as `ssh-keygen -l` prints it. */
export function blobFingerprint(blob: Buffer): string {
    return "SHA256:" + crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

const BACKOFF_START_MS = 100;
const BACKOFF_FACTOR = 1.5;
const BACKOFF_CAP_MS = 5000;

/** The delay before dial number `attempt + 1`, as @pulumi/command computes it. */
export function dialBackoffMs(attempt: number): number {
    return Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * Math.pow(BACKOFF_FACTOR, Math.max(0, attempt - 1)));
}

/** The last `lines` lines of a text, for error messages. */
export function tail(text: string, lines = 20): string {
    const all = text.replace(/\s+$/, "").split("\n");
    return all.slice(-lines).join("\n");
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One dial: resolves with a ready client or rejects with the reason. */
export function dialOnce(target: SshTarget, perDialTimeoutS: number): Promise<Client> {
    return new Promise((resolve, reject) => {
        const client = new Client();
        let settled = false;
        const where = `${target.user}@${target.host}:${target.port ?? 22}`;
        const pinned = target.hostKey === undefined ? undefined : parseHostKey(target.hostKey);
        let mismatch: HostKeyMismatchError | undefined;
        const timer = setTimeout(() => {
            fail(new Error(`dial to ${where} timed out after ${perDialTimeoutS} s`));
        }, perDialTimeoutS * 1000);
        function fail(err: Error): void {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            client.end();
            // ssh2 reports a refused key as a generic handshake error; say which keys met.
            reject(mismatch ?? err);
        }
        client.on("ready", () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve(client);
        });
        client.on("error", (err) => fail(err));
        client.on("close", () => fail(new Error("connection closed during dial")));
        const config: ConnectConfig = {
            host: target.host,
            port: target.port ?? 22,
            username: target.user,
            readyTimeout: perDialTimeoutS * 1000,
            keepaliveInterval: 15000,
            keepaliveCountMax: 8,
        };
        if (target.privateKey !== undefined) config.privateKey = target.privateKey;
        if (target.password !== undefined) config.password = target.password;
        if (pinned) {
            config.algorithms = { serverHostKey: [pinned.type as ServerHostKeyAlgorithm] };
            config.hostVerifier = (presented: Buffer): boolean => {
                if (presented.equals(pinned.blob)) return true;
                const label = target.label ? `${target.label}: ` : "";
                mismatch = new HostKeyMismatchError(`${label}${where}`, blobFingerprint(pinned.blob), blobFingerprint(presented));
                return false;
            };
        }
        client.connect(config);
    });
}

/** Dials with retries per `opts`. */
export async function dial(target: SshTarget, opts: DialOptions = {}): Promise<{ client: Client; dials: number }> {
    const limit = opts.dialErrorLimit ?? 10;
    const perDial = opts.perDialTimeout && opts.perDialTimeout > 0 ? opts.perDialTimeout : 15;
    const deadline = Date.now() + (opts.totalDialTimeoutMs ?? 10 * 60 * 1000);
    // An unparseable hostKey fails before any dial, as the provider's SSHConfig() does.
    if (target.hostKey !== undefined) parseHostKey(target.hostKey);
    let lastError: Error | undefined;
    for (let attempt = 1; ; attempt++) {
        try {
            const client = await dialOnce(target, perDial);
            return { client, dials: attempt };
        } catch (err) {
            lastError = err as Error;
            opts.onDialError?.(attempt, lastError);
            // The provider retries this like any dial error (until dialErrorLimit, or for the
            // first stage until its create timeout) and then fails with "ssh: host key
            // mismatch". A host that answers with another key will not change its mind, so the
            // runner gives up at once: the outcome (refused, nothing ran) is the same, sooner.
            if (err instanceof HostKeyMismatchError) throw err;
            const failures = attempt;
            const overLimit = limit >= 0 && failures > limit;
            const wait = dialBackoffMs(attempt);
            if (overLimit || Date.now() + wait >= deadline) {
                const why = overLimit ? `dialErrorLimit ${limit} reached` : "total dial timeout reached";
                throw new DialError(
                    `could not connect to ${target.user}@${target.host}:${target.port ?? 22} after ${attempt} attempts (${why}): ${lastError.message}`,
                    attempt,
                    lastError,
                );
            }
            await sleep(wait);
        }
    }
}

/** Runs `opts.command` on a connected client. */
function execOn(client: Client, opts: ExecOptions, dials: number): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
        client.exec(opts.command, (err: Error | undefined, stream: ClientChannel) => {
            if (err) {
                reject(err);
                return;
            }
            let stdout = "";
            let stderr = "";
            let code: number | null = null;
            let signal: string | null = null;
            let timer: NodeJS.Timeout | undefined;
            if (opts.execTimeoutMs !== undefined) {
                timer = setTimeout(() => {
                    stream.close();
                    reject(new RemoteCommandError(`command timed out after ${opts.execTimeoutMs} ms`, { code, signal, stdout, stderr, dials }));
                }, opts.execTimeoutMs);
            }
            stream.on("data", (data: Buffer) => {
                const s = data.toString("utf8");
                stdout += s;
                opts.onStdout?.(s);
            });
            stream.stderr.on("data", (data: Buffer) => {
                const s = data.toString("utf8");
                stderr += s;
                opts.onStderr?.(s);
            });
            stream.on("exit", (c: number | null, sig?: string) => {
                code = c;
                signal = sig ?? null;
            });
            stream.on("close", () => {
                if (timer) clearTimeout(timer);
                resolve({ code, signal, stdout, stderr, dials });
            });
            if (opts.stdin !== undefined) {
                stream.end(opts.stdin);
            } else {
                stream.end();
            }
        });
    });
}

/** A command for an error message: a multi-line one (a stage's bound script) as its first and last lines. */
export function shortCommand(command: string): string {
    const lines = command.split("\n");
    return lines.length <= 2 ? command : `${lines[0]} … ${lines[lines.length - 1]}`;
}

/**
 * Connects (with retries), runs the command with stdin, and resolves with its output.
 * Rejects with RemoteCommandError on a non-zero exit, DialError if no session was had.
 */
export async function sshExec(target: SshTarget, opts: ExecOptions): Promise<ExecResult> {
    const { client, dials } = await dial(target, opts);
    try {
        const result = await execOn(client, opts, dials);
        if (result.code !== 0) {
            const how = result.code === null ? `was killed by signal ${result.signal ?? "unknown"}` : `exited with code ${result.code}`;
            throw new RemoteCommandError(
                `${shortCommand(opts.command)} ${how} on ${target.user}@${target.host}\n--- stdout (tail) ---\n${tail(result.stdout)}\n--- stderr (tail) ---\n${tail(result.stderr)}`,
                result,
            );
        }
        return result;
    } finally {
        client.end();
    }
}

/**
 * Tries a password login once (password and keyboard-interactive). Resolves
 * "accepted" if the server let us in, "refused" if it rejected the credentials;
 * rejects on network errors so that a dead host is not mistaken for a refusal.
 */
export function tryPasswordLogin(
    host: string,
    port: number,
    user: string,
    password: string,
    timeoutS = 15,
): Promise<{ outcome: "accepted" | "refused"; detail: string }> {
    return new Promise((resolve, reject) => {
        const client = new Client();
        let settled = false;
        const done = (fn: () => void): void => {
            if (settled) return;
            settled = true;
            client.end();
            fn();
        };
        client.on("ready", () => done(() => resolve({ outcome: "accepted", detail: "authenticated with the password" })));
        client.on("error", (err: Error & { level?: string }) => {
            if (err.level === "client-authentication") {
                done(() => resolve({ outcome: "refused", detail: err.message }));
            } else {
                done(() => reject(err));
            }
        });
        client.on("keyboard-interactive", (_name, _instructions, _lang, prompts, finish) => {
            finish(prompts.map(() => password));
        });
        client.connect({ host, port, username: user, password, tryKeyboard: true, readyTimeout: timeoutS * 1000 });
    });
}
