// The stand-in IDE apt repositories of the local target. The vendors' repositories are out
// of reach here, so the local runner points the IDE stages at these through the same config
// overrides a user has for mirrors (repo URL, suite, components, key URL); file names,
// keyrings and candidate packages stay the program's defaults, as on a droplet.
//
// tools/local/standin-repo.sh builds them (packages and the signing key cached per cache dir);
// this module serves the tree over HTTP with node's http module, bound only to the given
// gateway IPs (the host side of each test host's veth), never to 0.0.0.0.
//
// Each vendor has its own URL prefix (/code, /cursor, /antigravity) so that the deb822
// sources the stages write never share a URI: apt refuses one URI with two Signed-By values.
// The port is fixed (STANDIN_PORT, WS_STANDIN_PORT overrides), so a host's sources are known
// from its gateway alone, before or without serving: see sourcesFor().

import { execFile } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { IdeName, IdeSource as ProgramIdeSource } from "../../components/ideSources";

/** One IDE's apt source: the part of the program's IDE source that the stand-in repository decides. */
export type IdeSource = Pick<ProgramIdeSource, "repoUrl" | "suite" | "components" | "keyUrl">;
export type { IdeName };

export interface StandinRepo {
    /** Sources as seen from the first bound gateway. */
    sources: Record<IdeName, IdeSource>;
    /** Sources as seen from the host behind `gatewayIp` (one of the bound IPs). */
    sourcesFor(gatewayIp: string): Record<IdeName, IdeSource>;
    /** The gateway IPs served. */
    bindIps: string[];
    port: number;
    /** The repository tree on disk (removed by close()). */
    root: string;
    close(): Promise<void>;
}

/** Default port of the stand-in repository on every gateway. */
export const STANDIN_PORT = 8742;

export function standinPort(): number {
    const raw = process.env.WS_STANDIN_PORT;
    if (raw === undefined || raw === "") return STANDIN_PORT;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new Error(`WS_STANDIN_PORT must be a TCP port (1-65535), got '${raw}'`);
    }
    return port;
}

/** The stand-in sources as seen from the host behind `gatewayIp`. Pure: needs no server. */
export function sourcesFor(gatewayIp: string, port: number = standinPort()): Record<IdeName, IdeSource> {
    const base = `http://${gatewayIp}:${port}`;
    const keyUrl = `${base}/key.asc`;
    return {
        vscode: { repoUrl: `${base}/code`, suite: "stable", components: "main", keyUrl },
        cursor: { repoUrl: `${base}/cursor`, suite: "stable", components: "main", keyUrl },
        antigravity: { repoUrl: `${base}/antigravity`, suite: "antigravity-debian", components: "main", keyUrl },
    };
}

const BUILD_SCRIPT = path.join(__dirname, "standin-repo.sh");

function buildTree(outDir: string): Promise<void> {
    return new Promise((resolve, reject) => {
        execFile("bash", [BUILD_SCRIPT, "build", outDir], { maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
            if (err) reject(new Error(`building the stand-in repository failed: ${err.message}\n${stderr}`));
            else resolve();
        });
    });
}

const TYPES: Record<string, string> = {
    ".deb": "application/vnd.debian.binary-package",
    ".gz": "application/gzip",
    ".asc": "application/pgp-keys",
    ".gpg": "application/pgp-signature",
};

/** A static file handler confined to `root`: GET and HEAD only, no listings. */
function handler(root: string): http.RequestListener {
    return (req, res) => {
        if (req.method !== "GET" && req.method !== "HEAD") {
            res.writeHead(405, { Allow: "GET, HEAD" }).end();
            return;
        }
        let rel: string;
        try {
            rel = decodeURIComponent(new URL(req.url ?? "/", "http://standin").pathname);
        } catch {
            res.writeHead(400).end();
            return;
        }
        const file = path.resolve(root, "." + path.posix.normalize(rel));
        if (file !== root && !file.startsWith(root + path.sep)) {
            res.writeHead(403).end();
            return;
        }
        fs.stat(file, (err, st) => {
            if (err || !st.isFile()) {
                res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
                return;
            }
            res.writeHead(200, {
                "Content-Type": TYPES[path.extname(file)] ?? "text/plain; charset=utf-8",
                "Content-Length": st.size,
                "Last-Modified": st.mtime.toUTCString(),
            });
            if (req.method === "HEAD") {
                res.end();
                return;
            }
            const stream = fs.createReadStream(file);
            stream.on("error", () => res.destroy());
            stream.pipe(res);
        });
    };
}

function listen(server: http.Server, ip: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
        const onError = (err: Error): void => reject(new Error(`stand-in repository cannot listen on ${ip}:${port}: ${err.message}`));
        server.once("error", onError);
        server.listen(port, ip, () => {
            server.off("error", onError);
            resolve();
        });
    });
}

function closeServer(server: http.Server): Promise<void> {
    return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
    });
}

/**
 * Builds a fresh signed stand-in repository (packages come from the cache) and serves it on
 * `bindIps` (gateway IPs that exist on this machine), port standinPort(). close() stops the
 * servers and removes the tree.
 */
export async function serveStandinRepo(bindIps: string[]): Promise<StandinRepo> {
    if (bindIps.length === 0) throw new Error("serveStandinRepo needs at least one gateway IP to bind");
    for (const ip of bindIps) {
        if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || ip === "0.0.0.0") {
            throw new Error(`serveStandinRepo binds gateway IPv4 addresses only, got '${ip}'`);
        }
    }
    const port = standinPort();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ws-standin-"));
    const servers: http.Server[] = [];
    try {
        await buildTree(root);
        for (const ip of bindIps) {
            const server = http.createServer(handler(root));
            servers.push(server);
            await listen(server, ip, port);
        }
    } catch (err) {
        await Promise.all(servers.map((s) => closeServer(s)));
        fs.rmSync(root, { recursive: true, force: true });
        throw err;
    }
    let closed = false;
    return {
        sources: sourcesFor(bindIps[0], port),
        sourcesFor: (gatewayIp: string) => {
            if (!bindIps.includes(gatewayIp)) {
                throw new Error(`the stand-in repository is not served on ${gatewayIp} (served on ${bindIps.join(", ")})`);
            }
            return sourcesFor(gatewayIp, port);
        },
        bindIps: [...bindIps],
        port,
        root,
        close: async () => {
            if (closed) return;
            closed = true;
            await Promise.all(servers.map((s) => closeServer(s)));
            fs.rmSync(root, { recursive: true, force: true });
        },
    };
}
