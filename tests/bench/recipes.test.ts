import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const BENCH = path.join(__dirname, "..", "..", "tools", "bench");
const KEY_ARMORED = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: stand-in\n\nAAEC\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n";
const IDES = [
    "vscode code http://10.213.40.1:8080/code stable main http://10.213.40.1:8080/code.asc /usr/share/keyrings/microsoft.gpg",
    "cursor cursor http://10.213.40.1:8080/cursor stable main http://10.213.40.1:8080/cursor.asc /usr/share/keyrings/anysphere.gpg",
].join("\n");

const scratch: string[] = [];
after(() => scratch.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

// A scratch root and stub commands that log their argv; apt-get, dpkg, gpg and curl never run for real.
function sandbox(): { dir: string; root: string; env: NodeJS.ProcessEnv; calls: () => string[] } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-recipe-"));
    scratch.push(dir);
    const bin = path.join(dir, "bin");
    const root = path.join(dir, "root");
    fs.mkdirSync(bin);
    fs.mkdirSync(root);
    const log = path.join(dir, "calls.log");
    const stub = (name: string, body = ""): void => {
        fs.writeFileSync(path.join(bin, name), `#!/bin/bash\nprintf '%s\\n' "${name} $*" >>"${log}"\n${body}\nexit 0\n`, { mode: 0o755 });
    };
    stub("apt-get");
    stub("debconf-set-selections", "cat >/dev/null");
    stub("dpkg", "echo amd64");
    stub("eatmydata");
    stub("gpg", 'while (($#)); do if [[ "$1" == -o ]]; then printf binary >"$2"; fi; shift; done');
    stub("curl", `while (($#)); do if [[ "$1" == -o ]]; then printf '%s' '${KEY_ARMORED}' >"$2"; fi; shift; done`);
    return {
        dir,
        root,
        env: { PATH: `${bin}:${process.env.PATH ?? ""}`, BENCH_ROOT: root, HOME: dir },
        calls: () => fs.readFileSync(log, "utf8").trim().split("\n"),
    };
}

function run(script: string, env: NodeJS.ProcessEnv): string {
    return execFileSync("bash", [path.join(BENCH, script)], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function timings(stdout: string): string[] {
    return stdout
        .split("\n")
        .filter((l) => l.startsWith("::bench-timing::"))
        .map((l) => (JSON.parse(l.slice(16)) as { stage: string }).stage);
}

describe("bench recipes", () => {
    it("naive: apt-get update and a default install per stage, one after another, IDEs after desktop", () => {
        const sb = sandbox();
        const out = run("naive.sh", { ...sb.env, BENCH_STAGES: "system-prep curl sudo\ndesktop xfce4 xrdp\nharden fail2ban", BENCH_IDES: IDES });
        const apt = sb.calls().filter((c) => !c.startsWith("dpkg"));
        assert.deepStrictEqual(apt, [
            "apt-get update",
            "apt-get install -y curl sudo",
            "apt-get update",
            "apt-get install -y xfce4 xrdp",
            "curl -fsSL -o " + apt[4].split(" ")[3] + " http://10.213.40.1:8080/code.asc",
            `gpg --batch --yes --dearmor -o ${sb.root}/usr/share/keyrings/microsoft.gpg ${apt[4].split(" ")[3]}`,
            "apt-get update",
            "apt-get install -y code",
            "curl -fsSL -o " + apt[8].split(" ")[3] + " http://10.213.40.1:8080/cursor.asc",
            `gpg --batch --yes --dearmor -o ${sb.root}/usr/share/keyrings/anysphere.gpg ${apt[8].split(" ")[3]}`,
            "apt-get update",
            "apt-get install -y cursor",
            "apt-get update",
            "apt-get install -y fail2ban",
        ]);
        assert.deepStrictEqual(timings(out), ["system-prep", "desktop", "ide-vscode", "ide-cursor", "harden"]);
        assert.match(out, /^::bench-total:: \{"seconds":\d+\.\d{6}\}$/m);
        assert.strictEqual(
            fs.readFileSync(path.join(sb.root, "etc/apt/sources.list.d/vscode.list"), "utf8"),
            "deb [arch=amd64 signed-by=/usr/share/keyrings/microsoft.gpg] http://10.213.40.1:8080/code stable main\n",
        );
    });

    it("naive: none of the program's tuning (no eatmydata, no --no-install-recommends, no lock timeout, man-db untouched)", () => {
        const sb = sandbox();
        run("naive.sh", { ...sb.env, BENCH_STAGES: "system-prep curl\ndesktop xfce4", BENCH_IDES: IDES });
        const text = sb.calls().join("\n") + fs.readFileSync(path.join(BENCH, "naive.sh"), "utf8").replace(/^#.*$/gm, "");
        for (const tuned of ["eatmydata", "--no-install-recommends", "Lock::Timeout", "man-db", "Install-Recommends", "force-unsafe-io"]) {
            assert.ok(!text.includes(tuned), `naive must not use ${tuned}`);
        }
    });

    it("floor: downloads untimed, then one eatmydata apt-get install of every package", () => {
        const sb = sandbox();
        const out = run("floor.sh", { ...sb.env, BENCH_PACKAGES: "curl sudo xfce4", BENCH_IDES: IDES });
        const O = "-y -q -o Dpkg::Use-Pty=0";
        assert.deepStrictEqual(
            sb.calls().filter((c) => c.startsWith("apt-get") || c.startsWith("eatmydata")),
            [
                `apt-get ${O} update`,
                `apt-get ${O} install --no-install-recommends eatmydata`,
                `apt-get ${O} update`,
                `apt-get ${O} install --download-only --no-install-recommends curl sudo xfce4 code cursor`,
                `eatmydata apt-get ${O} install --no-install-recommends curl sudo xfce4 code cursor`,
            ],
        );
        assert.ok(sb.calls().includes("debconf-set-selections "), "man-db's trigger is switched off as system-prep does");
        assert.deepStrictEqual(timings(out), ["prepare", "install"]);
        // The key is dearmored without gnupg (gnupg is part of the measured set).
        assert.deepStrictEqual([...fs.readFileSync(path.join(sb.root, "usr/share/keyrings/microsoft.gpg"))], [0, 1, 2]);
        assert.strictEqual(
            fs.readFileSync(path.join(sb.root, "etc/apt/sources.list.d/cursor.sources"), "utf8"),
            "Types: deb\nURIs: http://10.213.40.1:8080/cursor\nSuites: stable\nComponents: main\nArchitectures: amd64\nSigned-By: /usr/share/keyrings/anysphere.gpg\n",
        );
    });

    it("floor in warm mode only downloads, with Recommends and without", () => {
        const sb = sandbox();
        const out = run("floor.sh", { ...sb.env, BENCH_MODE: "warm", BENCH_PACKAGES: "xfce4", BENCH_IDES: "" });
        const O = "-y -q -o Dpkg::Use-Pty=0";
        assert.deepStrictEqual(
            sb.calls().filter((c) => c.startsWith("apt-get") || c.startsWith("eatmydata")),
            [
                `apt-get ${O} update`,
                `apt-get ${O} install --no-install-recommends eatmydata`,
                `apt-get ${O} update`,
                `apt-get ${O} install --download-only xfce4`,
                "apt-get clean",
                `apt-get ${O} install --download-only --no-install-recommends xfce4`,
            ],
        );
        assert.deepStrictEqual(timings(out), ["warm"]);
    });

    it("floor in download mode fetches every URI apt would, in parallel, Debian through apt's proxy and the IDE repositories direct", () => {
        const sb = sandbox();
        const bin = path.join(sb.dir, "bin");
        const log = path.join(sb.dir, "calls.log");
        const write = (name: string, body: string): void =>
            fs.writeFileSync(path.join(bin, name), `#!/bin/bash\nprintf '%s\\n' "${name} $*" >>"${log}"\n${body}\n`, { mode: 0o755 });
        write(
            "apt-get",
            `if [[ " $* " == *" --print-uris "* ]]; then
  echo "'http://deb.debian.org/debian/pool/main/x/xfce4/xfce4_4.20_all.deb' xfce4_4.20_all.deb 1000 SHA256:aa"
  echo "'http://10.213.40.1:8080/code/pool/code_1.99_amd64.deb' code_1.99_amd64.deb 250000 SHA256:bb"
fi`,
        );
        write("apt-config", `echo "HTTP_PROXY_URL='http://10.213.255.1:3142'"`);
        write(
            "curl",
            `if [[ "$1" == -K* || " $* " == *" -K "* ]]; then
  printf 'env http_proxy=%s no_proxy=%s\\n' "$http_proxy" "$no_proxy" >>"${log}"
  cfg="\${@: -1}"; cat "$cfg" >>"${log}"
  sed -n 's/^output = "\\(.*\\)"$/\\1/p' "$cfg" | while read -r f; do printf x >"$f"; done
else
  while (($#)); do if [[ "$1" == -o ]]; then printf '%s' '${KEY_ARMORED}' >"$2"; fi; shift; done
fi
exit 0`,
        );
        const ides = "vscode code http://10.213.40.1:8080/code stable main http://10.213.40.1:8080/code.asc /usr/share/keyrings/microsoft.gpg";
        const out = run("floor.sh", { ...sb.env, BENCH_MODE: "download", BENCH_PACKAGES: "xfce4", BENCH_IDES: ides });
        const calls = sb.calls();
        assert.ok(calls.includes("apt-get -qq --print-uris install --no-install-recommends xfce4 code"), calls.join("\n"));
        const archives = path.join(sb.root, "var/cache/apt/archives");
        assert.ok(
            calls.includes(`curl --parallel --parallel-max 8 --fail --silent --show-error -K ${calls.find((c) => c.includes(" -K "))!.split(" -K ")[1]}`),
        );
        assert.ok(
            calls.includes("env http_proxy=http://10.213.255.1:3142 no_proxy=10.213.40.1"),
            "Debian through the proxy, the gateway's repositories direct",
        );
        assert.ok(calls.includes(`url = "http://deb.debian.org/debian/pool/main/x/xfce4/xfce4_4.20_all.deb"`));
        assert.ok(calls.includes(`output = "${archives}/partial/code_1.99_amd64.deb"`));
        assert.deepStrictEqual(timings(out), ["download"]);
        assert.match(out, /^::bench-download:: \{"files":2,"bytes":251000\}$/m);
        assert.deepStrictEqual(
            fs
                .readdirSync(archives)
                .filter((f) => f.endsWith(".deb"))
                .sort(),
            ["code_1.99_amd64.deb", "xfce4_4.20_all.deb"],
            "kept for the dpkg floor",
        );
        assert.ok(!calls.some((c) => c.startsWith("eatmydata apt-get")), "nothing installed");
        // BENCH_KEEP=0 (another link follows): the files go; the one-time preparation is not repeated.
        const again = run("floor.sh", { ...sb.env, BENCH_MODE: "download", BENCH_KEEP: "0", BENCH_PACKAGES: "xfce4", BENCH_IDES: ides });
        assert.deepStrictEqual(timings(again), ["download"]);
        assert.deepStrictEqual(fs.readdirSync(path.join(archives, "partial")), []);
        assert.strictEqual(sb.calls().filter((c) => c.includes("install --no-install-recommends eatmydata")).length, 1);
    });

    it("both recipes refuse to run without their package list", () => {
        const sb = sandbox();
        for (const [script, v] of [
            ["naive.sh", "BENCH_STAGES"],
            ["floor.sh", "BENCH_PACKAGES"],
        ]) {
            const r = spawnSync("bash", [path.join(BENCH, script)], { env: sb.env, encoding: "utf8" });
            assert.notStrictEqual(r.status, 0);
            assert.match(r.stderr, new RegExp(`${v} must list`));
        }
    });

    it("are shellcheck-clean", function () {
        if (spawnSync("shellcheck", ["--version"]).status !== 0) this.skip();
        const r = spawnSync("shellcheck", [path.join(BENCH, "naive.sh"), path.join(BENCH, "floor.sh")], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stdout);
    });
});
