// What a fresh machine needs: Node 22 under every npm script, every host tool in the one
// list of tools/setup.sh (checked against the commands the host-side scripts and tests call),
// a clear error instead of an install when not root, and, as root, test hosts that come up
// on an empty state dir when two `up`s start at once, and after an `up` killed half-way.

import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { testhost } from "./testhostProcess";
import { PROJECT_DIR } from "../../tools/local/runnerState";
import { clearLeftoverHosts, ensureImage } from "../../tools/local/testHost";

const SETUP = path.join(PROJECT_DIR, "tools", "setup.sh");
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** Scripts that run on this machine (provisioning/ and the bench recipes run on the test hosts). */
const HOST_SCRIPTS = [
    "tools/local/testhost.sh",
    ...fs.readdirSync(path.join(PROJECT_DIR, "tools", "local", "testhost")).map((f) => `tools/local/testhost/${f}`),
    "tools/local/standin-repo.sh",
    "tools/setup.sh",
    ".ci/run",
];
/** Host-side TypeScript that starts programs. */
const HOST_TS_DIRS = ["tools", "tests", "policies"];
/** Commands that start another command: the word after them (options and numbers skipped) counts too. */
const WRAPPERS = new Set(["timeout", "setsid", "exec", "command", "chroot", "env", "nice", "flock"]);

/** Text of a bash script without comments and here-document bodies (file contents, not commands). */
function codeLines(text: string): string[] {
    const out: string[] = [];
    let heredocEnd: string | undefined;
    for (const line of text.split("\n")) {
        if (heredocEnd !== undefined) {
            if (line.trim() === heredocEnd) heredocEnd = undefined;
            continue;
        }
        const doc = /<<-?\s*['"]?([A-Za-z_]+)['"]?/.exec(line);
        if (doc && !line.includes("<<<")) heredocEnd = doc[1];
        if (/^\s*#/.test(line)) continue;
        out.push(line.replace(/\s#.*$/, ""));
    }
    return out;
}

/** Words in command position: the start of each pipeline segment and of each $( ) and <( ). */
export function commandWords(script: string): string[] {
    const words = new Set<string>();
    for (const line of codeLines(script)) {
        for (let seg of line.split(/;|\|\||&&|\||\$\(|<\(|>\(|`|\bthen\b|\bdo\b|\belse\b/)) {
            seg = seg.replace(/^[\s!{(]+|^\s*(if|while|until|elif)\b/g, "").trim();
            seg = seg.replace(/^(if|while|until|elif|!)\s+/, "").trim();
            const parts = seg.split(/\s+/).filter((w) => w !== "");
            for (let i = 0; i < parts.length; i++) {
                const w = parts[i].replace(/^["']|["']$/g, "");
                if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) continue; // VAR=value before a command
                if (!/^[a-z][a-z0-9_.+-]*$/.test(w)) break;
                words.add(w);
                if (!WRAPPERS.has(w)) break;
                // the wrapped command: skip options and their numeric or quoted arguments
                while (i + 1 < parts.length && /^(-|\d|"\$|\$|')/.test(parts[i + 1])) i++;
            }
        }
    }
    return [...words];
}

/** Node and npm are what the README asks for before anything else; not Debian's business. */
const PREREQUISITES = new Set(["node", "npm", "npx"]);

function executable(word: string): string | undefined {
    const r = spawnSync("bash", ["-c", 'type -P "$1"', "_", word], { encoding: "utf8", env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    const p = r.stdout.trim();
    return r.status === 0 && p !== "" ? p : undefined;
}

/** The Debian package owning each executable (trying the /bin and /usr/bin spellings of merged /usr), in one dpkg call. */
function owningPackages(files: string[]): Map<string, string> {
    const spellings = new Map<string, string>(); // spelling -> executable asked for
    for (const file of files) {
        for (const c of [file, fs.realpathSync(file)]) {
            spellings.set(c, file);
            spellings.set(c.startsWith("/usr/") ? c.slice(4) : `/usr${c}`, file);
        }
    }
    const r = spawnSync("dpkg", ["-S", ...spellings.keys()], { encoding: "utf8" });
    const owners = new Map<string, string>();
    for (const line of r.stdout.split("\n")) {
        // "pkg[, pkg2]: /path"; "diversion by dash from: /bin/sh" names no owner
        const m = /^([^:\s][^:]*): (\/\S+)$/.exec(line);
        if (!m || m[1].startsWith("diversion by")) continue;
        const file = spellings.get(m[2]);
        if (file !== undefined && !owners.has(file)) owners.set(file, m[1].split(",")[0].trim().replace(/:.*$/, ""));
    }
    return owners;
}

/** Essential or Priority required: on every Debian and Ubuntu system, debootstrap's minbase included. */
function alwaysThere(pkg: string): boolean {
    const r = spawnSync("dpkg-query", ["-W", "-f=${Essential} ${Priority}", pkg], { encoding: "utf8" });
    return r.status === 0 && /^yes |required$/.test(r.stdout.trim());
}

describe("a fresh machine: Node 22", () => {
    it("runs the tests under Node 22 (node@22 in devDependencies comes first on the npm scripts' PATH)", () => {
        const major = Number(process.versions.node.split(".")[0]);
        assert.ok(major >= 22, `mocha runs under node ${process.version} (${process.execPath}); run the tests through npm so node_modules/.bin/node is used`);
    });

    it("says Node >= 22 in package.json, the workflows and the README", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as {
            engines: { node: string };
            devDependencies: Record<string, string>;
        };
        assert.strictEqual(pkg.engines.node, ">=22");
        assert.match(pkg.devDependencies.node, /^\^22\./);
        const wfDir = path.join(PROJECT_DIR, ".github", "workflows");
        const versions = fs
            .readdirSync(wfDir)
            .flatMap((f) => [...fs.readFileSync(path.join(wfDir, f), "utf8").matchAll(/node-version:\s*(\S+)/g)].map((m) => `${f}: ${m[1]}`));
        assert.ok(versions.length > 0, "no node-version in the workflows");
        for (const v of versions) assert.match(v, /: 22$/);
        const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
        assert.match(readme, /Node\.js 22\+/);
        assert.doesNotMatch(readme, /Node\.js 20/);
    });
});

describe("a fresh machine: the host tools (tools/setup.sh)", () => {
    const listed = spawnSync("bash", [SETUP, "--list"], { encoding: "utf8" }).stdout.trim().split("\n");

    it("lists every package once", () => {
        assert.ok(listed.includes("shellcheck") && listed.includes("debootstrap") && listed.includes("apt-cacher-ng"), listed.join(" "));
        assert.strictEqual(new Set(listed).size, listed.length);
    });

    it("finds each host command the scripts and tests call in the list, or in an Essential or required package", function () {
        this.timeout(120_000);
        const words = new Set<string>();
        for (const f of HOST_SCRIPTS) for (const w of commandWords(fs.readFileSync(path.join(PROJECT_DIR, f), "utf8"))) words.add(w);
        assert.ok(
            words.has("debootstrap") && words.has("systemd-nspawn") && words.has("ssh") && words.has("apt-cacher-ng") && words.has("gpg"),
            [...words].join(" "),
        );
        const tsFiles = HOST_TS_DIRS.flatMap((d) =>
            (fs.readdirSync(path.join(PROJECT_DIR, d), { recursive: true }) as string[])
                .filter((f) => f.endsWith(".ts"))
                .map((f) => path.join(PROJECT_DIR, d, f)),
        );
        for (const f of tsFiles) {
            for (const m of fs.readFileSync(f, "utf8").matchAll(/\b(?:execFile|execFileSync|spawn|spawnSync|sh|shAsync)\(\s*"([a-z][\w.+-]*)"/g))
                words.add(m[1]);
        }
        const lint = (JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.lint;
        for (const m of lint.matchAll(/(?:^|&&)\s*([a-z][\w.+-]*)/g)) if (m[1] !== "npm" && m[1] !== "eslint") words.add(m[1]);
        assert.ok(words.has("shellcheck") && words.has("openssl"), [...words].join(" "));

        // One shell for all words: its kind (builtin, keyword, function or file) and its path.
        const kinds = spawnSync("bash", ["-c", 'for w; do printf "%s\\t%s\\t%s\\n" "$w" "$(type -t "$w")" "$(type -P "$w")"; done', "_", ...words], {
            encoding: "utf8",
            env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
        }).stdout;
        const programs = new Map<string, string>(); // command -> file
        for (const line of kinds.split("\n")) {
            const [w, kind, file] = line.split("\t");
            // builtins and keywords are bash's; no path: a function of the script, not a program
            if (w === undefined || PREREQUISITES.has(w) || kind !== "file" || !file) continue;
            // npm installs these itself (devDependencies, run from node_modules/.bin).
            if (file.startsWith(path.join(PROJECT_DIR, "node_modules", ".bin") + path.sep)) continue;
            programs.set(w, file);
        }
        const owners = owningPackages([...programs.values()]);
        const problems: string[] = [];
        for (const [w, file] of programs) {
            const pkg = owners.get(file);
            if (pkg === undefined) problems.push(`${w} (${file}) belongs to no Debian package`);
            else if (!listed.includes(pkg) && !alwaysThere(pkg))
                problems.push(`${w} comes from ${pkg}, which is neither in tools/setup.sh nor Essential/required`);
        }
        assert.deepStrictEqual(problems, []);
    });

    it("finds every listed command present once setup has run (--check)", () => {
        const r = spawnSync("bash", [SETUP, "--check"], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
    });

    (isRoot ? it : it.skip)("as a user who is not root, names what is missing and how to install it, and installs nothing", () => {
        // A PATH with bash and the basics only: shellcheck and the others look missing.
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "ws-setup-path-"));
        fs.chmodSync(bin, 0o755);
        try {
            for (const c of ["bash", "awk", "id", "dirname", "mkdir", "cat", "grep", "flock", "rm"]) fs.symlinkSync(executable(c)!, path.join(bin, c));
            // A copy the user can read: the checkout may sit under a directory only root enters.
            const setup = path.join(bin, "setup.sh");
            fs.copyFileSync(SETUP, setup);
            fs.chmodSync(setup, 0o644);
            const r = spawnSync(executable("setpriv")!, ["--reuid=65534", "--regid=65534", "--clear-groups", "bash", setup], {
                encoding: "utf8",
                env: { PATH: bin, WS_SETUP_LOCK: path.join(bin, "lock") },
                cwd: "/",
            });
            assert.strictEqual(r.status, 1, r.stdout + r.stderr);
            assert.match(r.stderr, /setup: error: missing host tools: shellcheck \(shellcheck\) .*ssh-keygen \(openssh-client\) /);
            assert.match(r.stderr, /install them as root: sudo bash tools\/setup\.sh +\(or: sudo apt-get install shellcheck .*openssh-client /);
            assert.ok(!fs.existsSync(path.join(bin, "lock")), "took the apt lock without root");
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });

    it("keeps a policy-rc.d of its own only while it runs: refuses apt-cacher-ng alone, and nothing once its setup is gone", () => {
        const text = fs.readFileSync(SETUP, "utf8");
        const body = /cat >"\$POLICY\.workstation\.\$\$" <<EOF\n([\s\S]*?)\nEOF/.exec(text);
        assert.ok(body, "policy-rc.d text not found in tools/setup.sh");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-policy-"));
        try {
            // The policy as a setup with a live pid (this test's shell, named setup.sh) and a dead one would write it.
            const live = spawn("bash", ["-c", "exec -a setup.sh sleep 30"], { stdio: "ignore" });
            const render = (pid: number): string => {
                const file = path.join(dir, `policy-${pid}`);
                fs.writeFileSync(
                    file,
                    body[1]
                        .replace(/\$\$/g, String(pid))
                        .replace(/\$POLICY_MARK/g, "written by workstation tools/setup.sh")
                        .replace(/\\\$/g, "$"),
                    { mode: 0o755 },
                );
                return file;
            };
            try {
                const alive = render(live.pid!);
                const dead = render(4194303); // above pid_max's default, so never a live process
                const code = (file: string, service: string): number | null => spawnSync("sh", [file, service, "start"]).status;
                // /proc/PID/cmdline of the live one names setup.sh: exec -a renames argv[0]
                for (let i = 0; i < 50 && !fs.readFileSync(`/proc/${live.pid}/cmdline`, "utf8").includes("setup.sh"); i++) spawnSync("sleep", ["0.05"]);
                assert.strictEqual(code(alive, "apt-cacher-ng"), 101);
                assert.strictEqual(code(alive, "ssh"), 0);
                assert.strictEqual(code(dead, "apt-cacher-ng"), 0);
            } finally {
                live.kill("SIGKILL");
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

(isRoot ? describe : describe.skip)("a fresh machine: test hosts on an empty state dir (root, boots real hosts)", function () {
    this.timeout(600_000);
    const NAMES = ["wsthfa", "wsthfb"];
    let work = "";
    let stateDir = "";
    let keys = "";

    before(async () => {
        // Named with our pid, so that a later run knows this dir's run is gone when it finds it;
        // made here, not when the file loads, so that a filtered-out suite leaves no dir.
        work = fs.mkdtempSync(path.join(os.tmpdir(), `ws-fresh-state-${process.pid}-`));
        stateDir = path.join(work, "state");
        keys = path.join(work, "authorized_keys");
        fs.writeFileSync(keys, "");
        // A run of this suite killed before its `after` left its hosts and its state dir.
        await clearLeftoverHosts((name) => NAMES.includes(name));
        for (const d of fs.readdirSync(os.tmpdir())) {
            const m = /^ws-fresh-state-(\d+)-/.exec(d);
            if (m && Number(m[1]) !== process.pid && !fs.existsSync(`/proc/${m[1]}`)) fs.rmSync(path.join(os.tmpdir(), d), { recursive: true, force: true });
        }
        await ensureImage(); // the shared image: this suite is about the state dir
    });

    after(async () => {
        if (work === "") return;
        await testhost(stateDir, ["down", "--all"]);
        fs.rmSync(work, { recursive: true, force: true });
    });

    it("boots two hosts started at once, which share one harness key made once", async () => {
        assert.ok(!fs.existsSync(stateDir));
        const [a, b] = await Promise.all(NAMES.map((name, i) => testhost(stateDir, ["up", name, "--index", String(246 + i), "--authorized-keys", keys])));
        assert.strictEqual(a.code, 0, a.err);
        assert.strictEqual(b.code, 0, b.err);
        assert.deepStrictEqual(
            [a, b].map((r) => (JSON.parse(r.out.trim()) as { name: string }).name),
            NAMES,
        );
        assert.doesNotMatch(a.err + b.err, /Overwrite/);
        const files = fs.readdirSync(stateDir).filter((f) => f.startsWith("harness") || f.startsWith(".harness"));
        assert.deepStrictEqual(files.sort(), ["harness_ed25519", "harness_ed25519.pub"]);
        for (const name of NAMES) {
            const r = await testhost(stateDir, ["ssh", name, "hostname"]);
            assert.strictEqual(r.code, 0, r.err);
            assert.strictEqual(r.out.trim(), name);
        }
        for (const name of NAMES) assert.strictEqual((await testhost(stateDir, ["down", name])).code, 0);
    });

    it("boots a host again after an up of the same name was killed with SIGKILL half-way, once down has cleared it", async () => {
        const name = NAMES[0];
        const hostDir = path.join(stateDir, "hosts", name);
        let pid = 0;
        const killed = testhost(stateDir, ["up", name, "--index", "246", "--authorized-keys", keys], { detached: true, onSpawn: (p) => (pid = p) });
        // Kill the whole process group (bash, ssh-keygen, nspawn) once the host's root is there:
        // its overlay mounted over the image's cached root, which the killed up leaves mounted.
        for (let i = 0; i < 600 && !fs.existsSync(path.join(hostDir, "root", "etc")); i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(fs.existsSync(path.join(hostDir, "root", "etc")), "the up never mounted the host's root");
        process.kill(-pid, "SIGKILL");
        assert.strictEqual((await killed).signal, "SIGKILL");
        assert.ok(fs.existsSync(hostDir), "the killed up left no host dir: nothing was tested");
        const mountsUnderHost = () =>
            spawnSync("findmnt", ["-rn", "-o", "TARGET"], { encoding: "utf8" })
                .stdout.split("\n")
                .filter((t) => t.startsWith(`${hostDir}/`));
        assert.deepStrictEqual(mountsUnderHost(), [path.join(hostDir, "root")], "the killed up left no mounted overlay: nothing was tested");

        const names = await testhost(stateDir, ["names"]);
        assert.deepStrictEqual(names.out.trim().split("\n"), [name]);
        const again = await testhost(stateDir, ["up", name, "--index", "246", "--authorized-keys", keys]);
        assert.strictEqual(again.code, 1, "an up over the leftover should refuse");
        assert.match(again.err, new RegExp(`host ${name} exists already`));

        assert.strictEqual((await testhost(stateDir, ["down", name])).code, 0);
        assert.ok(!fs.existsSync(hostDir));
        assert.deepStrictEqual(mountsUnderHost(), []);
        const up = await testhost(stateDir, ["up", name, "--index", "246", "--authorized-keys", keys]);
        assert.strictEqual(up.code, 0, up.err);
        assert.strictEqual((await testhost(stateDir, ["down", name])).code, 0);
        assert.strictEqual(spawnSync("ip", ["link", "show", "wsth246"]).status, 1, "veth wsth246 left behind");
    });
});
