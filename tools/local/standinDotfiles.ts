// A stand-in dotfiles repository for the local target: a real git repository, built at
// run time with a real install script, exported for git's dumb HTTP protocol
// (`git update-server-info`) and served by node's http module on the test host's gateway
// (the host side of its veth), never on any other address. The runner points
// `workstation:dotfiles` at it, as a user points it at their own repository.
//
// The commit is made with fixed names and dates, so every build has the same hash: a
// re-run on the same host finds the repository unchanged, as it would with a real remote.

import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";

/** Default port (WS_STANDIN_DOTFILES_PORT overrides); the apt stand-in uses 8742. */
export const STANDIN_DOTFILES_PORT = 8743;

export function standinDotfilesPort(): number {
    const raw = process.env.WS_STANDIN_DOTFILES_PORT;
    if (raw === undefined || raw === "") return STANDIN_DOTFILES_PORT;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`WS_STANDIN_DOTFILES_PORT must be a TCP port (1-65535), got '${raw}'`);
    return port;
}

/** The URL the host clones from, known from its gateway alone (the config is set before the host boots). */
export function standinDotfilesUrl(gatewayIp: string, port: number = standinDotfilesPort()): string {
    return `http://${gatewayIp}:${port}/dotfiles.git`;
}

/** What the stand-in install script leaves in the user's home; the e2e reads it. */
export const STANDIN_MARKER = ".workstation-dotfiles-installed";

const INSTALL_SH = `#!/bin/bash
# The stand-in dotfiles' install script: proves it ran, where, and as whom.
set -euo pipefail
printf 'installed by %s as %s in %s\\n' "$0" "$(id -un)" "$PWD" >"$HOME/${STANDIN_MARKER}"
ln -sfn "$PWD/.inputrc" "$HOME/.inputrc"
`;

const FIXED = {
    GIT_AUTHOR_NAME: "workstation",
    GIT_AUTHOR_EMAIL: "workstation@localhost",
    GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z",
    GIT_COMMITTER_NAME: "workstation",
    GIT_COMMITTER_EMAIL: "workstation@localhost",
    GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z",
};

/** Builds the bare repository under `root`/dotfiles.git. */
export function buildStandinDotfiles(root: string): string {
    const work = path.join(root, "work");
    fs.mkdirSync(work, { recursive: true });
    fs.writeFileSync(path.join(work, "install.sh"), INSTALL_SH, { mode: 0o755 });
    fs.writeFileSync(path.join(work, ".inputrc"), "set completion-ignore-case on\n");
    const env = { ...process.env, ...FIXED, GIT_CONFIG_NOSYSTEM: "1", HOME: root };
    const git = (cwd: string, ...args: string[]): void => {
        execFileSync("git", args, { cwd, env, stdio: ["ignore", "ignore", "pipe"] });
    };
    git(work, "init", "--quiet", "--initial-branch=main");
    git(work, "add", "-A");
    git(work, "commit", "--quiet", "-m", "stand-in dotfiles");
    const bare = path.join(root, "dotfiles.git");
    git(root, "clone", "--quiet", "--bare", work, bare);
    git(bare, "update-server-info");
    return bare;
}

export interface StandinDotfiles {
    url: string;
    close(): Promise<void>;
}

/** Serves a fresh build on `gatewayIp` (a test host's 10.213.N.1) until closed. */
export async function serveStandinDotfiles(gatewayIp: string, port: number = standinDotfilesPort()): Promise<StandinDotfiles> {
    if (!/^10\.213\.\d{1,3}\.1$/.test(gatewayIp))
        throw new Error(`the stand-in dotfiles are served on a test host's gateway (10.213.N.1) only, got '${gatewayIp}'`);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ws-dotfiles-"));
    const server = http.createServer((req, res) => {
        // Dumb HTTP: plain files under /dotfiles.git, GET and HEAD only.
        const rel = decodeURIComponent(new URL(req.url ?? "/", "http://standin").pathname);
        const file = path.resolve(root, "." + path.posix.normalize(rel));
        if ((req.method !== "GET" && req.method !== "HEAD") || !file.startsWith(path.join(root, "dotfiles.git") + path.sep)) {
            res.writeHead(404).end();
            return;
        }
        fs.readFile(file, (err, data) => {
            if (err) res.writeHead(404).end();
            else
                res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": data.length }).end(req.method === "HEAD" ? undefined : data);
        });
    });
    try {
        buildStandinDotfiles(root);
        await new Promise<void>((resolve, reject) => {
            server.once("error", (err) => reject(new Error(`stand-in dotfiles cannot listen on ${gatewayIp}:${port}: ${err.message}`)));
            server.listen(port, gatewayIp, resolve);
        });
    } catch (err) {
        server.close();
        fs.rmSync(root, { recursive: true, force: true });
        throw err;
    }
    return {
        url: standinDotfilesUrl(gatewayIp, port),
        close: () =>
            new Promise<void>((resolve) => {
                server.close(() => {
                    fs.rmSync(root, { recursive: true, force: true });
                    resolve();
                });
                server.closeAllConnections();
            }),
    };
}
