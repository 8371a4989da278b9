// What the runner keeps per test host, so that `--reuse NAME` connects with the same
// keys the host already trusts: .local-target/runner/<host>/ (0700) with
//   secrets.json   generated keys and passwords by resource name (0600)
//   id_ed25519     the provisioning key, for `ssh -i` (0600), and id_ed25519.pub
//   run.json       the last run: stack, stages, outputs (secrets boxed), host (0600)

import * as fs from "fs";
import * as path from "path";
import { HOST_KEY_SUFFIX } from "../../components/hostKey";
import { generateEd25519, generatePassword, KeyMaterial, PasswordSpec } from "./keys";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");
export const RUNNER_DIR = path.join(PROJECT_DIR, ".local-target", "runner");

export interface Secrets {
    keys: Record<string, KeyMaterial>;
    passwords: Record<string, string>;
}

export function hostStateDir(hostName: string, root = RUNNER_DIR): string {
    return path.join(root, hostName);
}

/**
 * Written under a temporary name and renamed: a run killed while writing leaves the previous
 * file whole (a half-written secrets.json would stop every later --reuse), and a reader never
 * sees a partial file.
 */
export function writePrivate(file: string, text: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    try {
        fs.writeFileSync(tmp, text, { mode: 0o600 });
        fs.chmodSync(tmp, 0o600);
        fs.renameSync(tmp, file);
    } finally {
        fs.rmSync(tmp, { force: true });
    }
}

export class HostState {
    readonly dir: string;

    constructor(
        readonly hostName: string,
        root = RUNNER_DIR,
    ) {
        this.dir = hostStateDir(hostName, root);
    }

    get secretsFile(): string {
        return path.join(this.dir, "secrets.json");
    }
    get keyFile(): string {
        return path.join(this.dir, "id_ed25519");
    }
    /** The host's known_hosts line, from the program's knownHosts output. */
    get knownHostsFile(): string {
        return path.join(this.dir, "known_hosts");
    }
    get runFile(): string {
        return path.join(this.dir, "run.json");
    }

    exists(): boolean {
        return fs.existsSync(this.secretsFile);
    }

    readSecrets(): Secrets {
        if (!fs.existsSync(this.secretsFile)) return { keys: {}, passwords: {} };
        return JSON.parse(fs.readFileSync(this.secretsFile, "utf8")) as Secrets;
    }

    private writeSecrets(s: Secrets): void {
        writePrivate(this.secretsFile, JSON.stringify(s, null, 2) + "\n");
    }

    /** The persisted key for `resource`, or a new one (persisted, and written out for `ssh -i`). */
    keyFor(resource: string, reuseOnly: boolean): KeyMaterial {
        const s = this.readSecrets();
        const known = s.keys[resource];
        if (known) return known;
        if (reuseOnly) throw new Error(`no key for ${resource} was kept for host ${this.hostName} in ${this.secretsFile}; it cannot be reused`);
        const key = generateEd25519();
        s.keys[resource] = key;
        this.writeSecrets(s);
        // The login key is written out for `ssh -i`; a host key (HostKey's `…-hostkey`) never is.
        if (!resource.endsWith(HOST_KEY_SUFFIX) && !fs.existsSync(this.keyFile)) {
            writePrivate(this.keyFile, key.privateKeyOpenssh);
            writePrivate(`${this.keyFile}.pub`, key.publicKeyOpenssh);
        }
        return key;
    }

    passwordFor(resource: string, spec: PasswordSpec, reuseOnly: boolean): string {
        const s = this.readSecrets();
        const known = s.passwords[resource];
        if (known !== undefined) return known;
        if (reuseOnly) throw new Error(`no password for ${resource} was kept for host ${this.hostName} in ${this.secretsFile}; it cannot be reused`);
        const pw = generatePassword(spec);
        s.passwords[resource] = pw;
        this.writeSecrets(s);
        return pw;
    }

    writeRun(run: unknown): void {
        writePrivate(this.runFile, JSON.stringify(run, null, 2) + "\n");
    }

    readRun<T>(): T | undefined {
        if (!fs.existsSync(this.runFile)) return undefined;
        return JSON.parse(fs.readFileSync(this.runFile, "utf8")) as T;
    }

    remove(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** Host names the runner holds state for. */
export function knownHosts(root = RUNNER_DIR): string[] {
    if (!fs.existsSync(root)) return [];
    return fs
        .readdirSync(root)
        .filter((d) => fs.existsSync(path.join(root, d, "secrets.json")))
        .sort();
}

/**
 * Volumes live per stack, not per host (.local-target/volumes/<stack>/<volume>.img), as on
 * DigitalOcean a volume outlives every droplet it was attached to: a new test host of the
 * same stack gets the same volume. `<file>.host` names the test host it was last attached to.
 */
export const VOLUMES_DIR = path.join(PROJECT_DIR, ".local-target", "volumes");

export function volumeFile(stack: string, volumeName: string, root = VOLUMES_DIR): string {
    return path.join(root, stack, `${volumeName}.img`);
}

/** The volume files kept for a stack. */
export function stackVolumeFiles(stack: string, root = VOLUMES_DIR): string[] {
    const dir = path.join(root, stack);
    if (!fs.existsSync(dir)) return [];
    return fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".img"))
        .map((f) => path.join(dir, f))
        .sort();
}

/** Every volume file kept, of every stack. */
export function allVolumeFiles(root = VOLUMES_DIR): string[] {
    if (!fs.existsSync(root)) return [];
    return fs.readdirSync(root).flatMap((stack) => stackVolumeFiles(stack, root));
}

/** The test host the volume was last attached to, if any. */
export function volumeOwner(file: string): string | undefined {
    const f = `${file}.host`;
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim() || undefined : undefined;
}

export function setVolumeOwner(file: string, hostName: string): void {
    writePrivate(`${file}.host`, `${hostName}\n`);
}
