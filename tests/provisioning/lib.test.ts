import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { assemble, csvRows, fakeCommand, lastTiming, readScript, runBash, tempDir } from "./helpers";

function stage(logDir: string, body: string, vars: Record<string, string> = {}) {
    return assemble({ WS_STAGE: "demo", WS_LOG_DIR: logDir, WS_APT_RETRY_SLEEP: "0", ...vars }, body);
}

describe("provisioning lib: timing record", () => {
    it("ends stdout with a timing line naming the stage, its seconds and each step", () => {
        const logDir = tempDir("timing");
        const res = runBash(
            stage(logDir, ["ws_stage_begin", "ws_step first true", "ws_step second sleep 0.05", "ws_skip third 'found done'", "ws_stage_end"].join("\n")),
        );
        assert.equal(res.code, 0, res.stderr);
        const t = lastTiming(res.stdout);
        assert.equal(t.stage, "demo");
        assert.equal(t.status, "ok");
        assert.ok(t.end >= t.start && t.start > 1.6e9, `start ${t.start} end ${t.end}`);
        assert.ok(Math.abs(t.end - t.start - t.seconds) < 0.002, `seconds ${t.seconds} vs end-start`);
        assert.deepEqual(
            t.steps.map((s) => [s.name, s.status]),
            [
                ["first", "ok"],
                ["second", "ok"],
                ["third", "skipped"],
            ],
        );
        assert.ok(t.steps[1]!.seconds >= 0.05, `sleep step took ${t.steps[1]!.seconds}`);
        assert.equal(t.steps[2]!.seconds, 0);
    });

    it("appends the stage to timing.csv under its header", () => {
        const logDir = tempDir("csv");
        runBash(stage(logDir, "ws_stage_begin\nws_step a true\nws_stage_end"));
        runBash(stage(logDir, "ws_stage_begin\nws_skip a done\nws_stage_end"));
        const rows = csvRows(path.join(logDir, "timing.csv"));
        assert.deepEqual(rows[0], ["Timestamp", "Phase", "DurationSec", "Status"]);
        assert.equal(rows.length, 3);
        assert.match(rows[1]![0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.deepEqual([rows[1]![1], rows[1]![3]], ["demo", "ok"]);
        assert.deepEqual([rows[2]![1], rows[2]![3]], ["demo", "skipped"]);
        assert.match(rows[1]![2]!, /^\d+\.\d{3}$/);
    });

    it("keeps stdin for the script: a step that reads stdin does not eat the rest of it", () => {
        const logDir = tempDir("stdin");
        const res = runBash(stage(logDir, "ws_stage_begin\nws_step reader cat\necho still-running\nws_stage_end"));
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stdout, /still-running/);
        assert.equal(lastTiming(res.stdout).steps[0]!.name, "reader");
    });

    it("escapes JSON strings", () => {
        const res = runBash(assemble({}, `ws_json_str $'a"b\\\\c\\nd\\te'`));
        assert.deepEqual(JSON.parse(res.stdout), 'a"b\\c\nd\te');
    });
});

describe("provisioning lib: skipping", () => {
    it("marks a stage whose steps all found their work done as skipped, and says so", () => {
        const logDir = tempDir("skip");
        const res = runBash(stage(logDir, "ws_stage_begin\nws_skip packages 'all installed'\nws_skip config 'in place'\nws_stage_end"));
        assert.equal(res.code, 0, res.stderr);
        const t = lastTiming(res.stdout);
        assert.equal(t.status, "skipped");
        assert.ok(t.steps.every((s) => s.status === "skipped"));
        assert.match(res.stderr, /packages: skipped, all installed/);
        assert.match(res.stderr, /already done \(skipped\)/);
        const rows = csvRows(path.join(logDir, "timing.csv"));
        assert.equal(rows[rows.length - 1]![3], "skipped");
    });
});

describe("provisioning lib: a failing step", () => {
    it("names stage, step, command and the tail of its output, exits non-zero and records a failed row", () => {
        const logDir = tempDir("fail");
        const body = [
            "ws_stage_begin",
            "ws_step fine true",
            "ws_step breaks bash -c 'for i in $(seq 1 40); do echo out-line-$i; done; echo the-last-words >&2; exit 7'",
            "echo not-reached",
            "ws_stage_end",
        ].join("\n");
        const res = runBash(stage(logDir, body));
        assert.equal(res.code, 7);
        assert.match(res.stderr, /FAILED: stage demo, step breaks, exit code 7/);
        assert.match(res.stderr, /command: bash -c for i in/);
        assert.match(res.stderr, /last lines of its output:\n(.*\n)*\s+the-last-words/);
        assert.match(res.stderr, /out-line-40/);
        assert.doesNotMatch(res.stdout, /not-reached|::workstation-timing::/);
        const rows = csvRows(path.join(logDir, "timing.csv"));
        assert.deepEqual([rows[rows.length - 1]![1], rows[rows.length - 1]![3]], ["demo", "failed"]);
    });

    it("stops a step function at its first failing command and names that command", () => {
        const logDir = tempDir("fail-fn");
        const body = [
            "my_step() { echo before; ls /nonexistent-ws-dir; echo after-the-failure; }",
            "ws_stage_begin",
            "ws_step multi my_step",
            "ws_stage_end",
        ].join("\n");
        const res = runBash(stage(logDir, body));
        assert.notEqual(res.code, 0);
        assert.match(res.stderr, /step multi/);
        assert.match(res.stderr, /command: ls \/nonexistent-ws-dir/);
        assert.doesNotMatch(res.stderr, /after-the-failure/);
    });
});

/** apt-get calls recorded by the fakes, without the free-space check's dry runs (--assume-no). */
function realAptCalls(fakes: string): string[] {
    return fs
        .readFileSync(path.join(fakes, "apt-get.argv"), "utf8")
        .trimEnd()
        .split("\n")
        .filter((l) => !l.includes("--assume-no"));
}

describe("provisioning lib: apt", () => {
    function aptFakes(dir: string, aptScript: string, installed = "") {
        fakeCommand(
            dir,
            "apt-get",
            `printf '%s\\n' "$*" >>"${dir}/apt-get.argv"\nprintf 'DEBIAN_FRONTEND=%s\\n' "$DEBIAN_FRONTEND" >>"${dir}/apt-get.env"\n${aptScript}`,
        );
        // dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' PKG...: only the packages in
        // $installed are installed; any other makes it exit 1, as dpkg-query does.
        fakeCommand(
            dir,
            "dpkg-query",
            `rc=0; for pkg in "$@"; do case "$pkg" in -*) continue;; esac
case " ${installed} " in *" $pkg "*) printf 'ii  %s\\n' "$pkg";; *) echo "dpkg-query: no packages found matching $pkg" >&2; rc=1;; esac; done; exit $rc`,
        );
        fakeCommand(dir, "eatmydata", `exec "$@"`);
    }

    it("installs only missing packages, noninteractive, with DPkg::Lock::Timeout=600 and --no-install-recommends", () => {
        const logDir = tempDir("apt");
        const fakes = tempDir("apt-fakes");
        aptFakes(fakes, "exit 0", "curl");
        const res = runBash(stage(logDir, "ws_stage_begin\nws_step install ws_apt_install curl xrdp xorgxrdp\nws_stage_end"), { pathPrefix: [fakes] });
        assert.equal(res.code, 0, res.stderr);
        const calls = realAptCalls(fakes);
        assert.equal(calls.length, 1);
        const argv = calls[0]!.split(" ");
        assert.ok(argv.includes("DPkg::Lock::Timeout=600"), calls[0]);
        assert.ok(argv.includes("--no-install-recommends"), calls[0]);
        assert.ok(argv.includes("-y"), calls[0]);
        assert.deepEqual(argv.slice(argv.indexOf("install")), ["install", "--no-install-recommends", "xrdp", "xorgxrdp"]);
        assert.match(fs.readFileSync(path.join(fakes, "apt-get.env"), "utf8"), /DEBIAN_FRONTEND=noninteractive/);
    });

    it("does not call apt-get when every package is installed", () => {
        const logDir = tempDir("apt-none");
        const fakes = tempDir("apt-none-fakes");
        aptFakes(fakes, "exit 0", "curl xrdp");
        const res = runBash(stage(logDir, "ws_stage_begin\nws_step install ws_apt_install curl xrdp\nws_stage_end"), { pathPrefix: [fakes] });
        assert.equal(res.code, 0, res.stderr);
        assert.equal(fs.existsSync(path.join(fakes, "apt-get.argv")), false);
    });

    it("retries a network error and then succeeds", () => {
        const logDir = tempDir("apt-retry");
        const fakes = tempDir("apt-retry-fakes");
        aptFakes(
            fakes,
            `n=$(grep -vc -- --assume-no "${fakes}/apt-get.argv"); if [ "$n" -eq 1 ]; then echo "W: Failed to fetch http://deb.debian.org/x  Temporary failure resolving 'deb.debian.org'"; exit 100; fi; exit 0`,
        );
        const res = runBash(stage(logDir, "ws_stage_begin\nws_step install ws_apt_install xrdp\nws_stage_end"), { pathPrefix: [fakes] });
        assert.equal(res.code, 0, res.stderr);
        const calls = realAptCalls(fakes);
        assert.equal(calls.length, 2);
        assert.match(res.stderr, /network error \(attempt 1\): retrying/);
    });

    it("retries when the proxy has no route (apt's 'Cannot initiate the connection ... No route to host')", () => {
        const logDir = tempDir("apt-noroute");
        const fakes = tempDir("apt-noroute-fakes");
        aptFakes(
            fakes,
            [
                `n=$(grep -vc -- --assume-no "${fakes}/apt-get.argv"); if [ "$n" -le 2 ]; then`,
                `  echo "Err:4 http://deb.debian.org/debian trixie Release"`,
                `  echo "  Cannot initiate the connection to 10.213.255.1:3142 (10.213.255.1). - connect (113: No route to host)"`,
                `  echo "E: The repository 'http://deb.debian.org/debian trixie Release' does not have a Release file."; exit 100`,
                "fi; exit 0",
            ].join("\n"),
        );
        const res = runBash(stage(logDir, "ws_stage_begin\nws_step lists ws_apt_get update\nws_stage_end"), { pathPrefix: [fakes] });
        assert.equal(res.code, 0, res.stderr);
        assert.equal(realAptCalls(fakes).length, 3);
        assert.match(res.stderr, /network error \(attempt 1\): retrying[\s\S]*network error \(attempt 2\): retrying/);
    });

    it("fails at once on an error that is not the network's, naming the apt-get command", () => {
        const logDir = tempDir("apt-fail");
        const fakes = tempDir("apt-fail-fakes");
        aptFakes(fakes, `echo "E: Unable to locate package nosuchpkg"; exit 100`);
        const res = runBash(stage(logDir, "ws_stage_begin\nws_step install ws_apt_install nosuchpkg\nws_stage_end"), { pathPrefix: [fakes] });
        assert.equal(res.code, 100);
        assert.equal(realAptCalls(fakes).length, 1);
        assert.match(res.stderr, /command: (eatmydata )?apt-get -y -q -o DPkg::Lock::Timeout=600 .* install --no-install-recommends nosuchpkg/);
        assert.match(res.stderr, /Unable to locate package nosuchpkg/);
    });
});

describe("provisioning lib: free space before installs", () => {
    /**
     * apt-get as the real one treats an install that needs no prompt (no extra packages):
     * --print-uris prints the figures and the URIs and stops; anything else, --assume-no
     * included (it only answers a prompt), installs and records itself. df reports FREE MB on /usr.
     */
    function fakes(dir: string, download: string, unpack: string, freeMb: number) {
        fakeCommand(
            dir,
            "apt-get",
            [
                `printf '%s\\n' "$*" >>"${dir}/apt-get.argv"`,
                `case " $* " in *" --print-uris "*) printf 'Need to get ${download} of archives.\\nAfter this operation, ${unpack} of additional disk space will be used.\\n'; echo "'http://deb.debian.org/debian/pool/main/c/code/code_1_amd64.deb' code_1_amd64.deb 1000 SHA256:00"; exit 0;; esac`,
                `echo "Unpacking code ..."; touch "${dir}/installed"`,
            ].join("\n"),
        );
        fakeCommand(dir, "dpkg-query", "exit 1");
        fakeCommand(dir, "eatmydata", `exec "$@"`);
        fakeCommand(
            dir,
            "df",
            `[ "$*" = "-Pm /usr" ] || exit 2; printf 'Filesystem 1048576-blocks Used Available Capacity Mounted on\\n/dev/vda1 20000 19000 ${freeMb} 96%% /\\n'`,
        );
    }

    it("fails before apt-get installs anything, naming the stage, the free and the needed MB", () => {
        const dir = tempDir("space-full");
        fakes(dir, "105 MB", "412 MB", 300);
        const res = runBash(stage(tempDir("space-full-log"), "ws_stage_begin\nws_step install ws_apt_install code\nws_stage_end"), { pathPrefix: [dir] });
        assert.equal(res.code, 1, res.stderr);
        assert.match(res.stderr, /\[demo\] FAILED: stage demo, step install, exit code 1/);
        assert.match(
            res.stderr,
            /\[demo\] not enough disk space for this install: 300 MB free on \/usr, 617 MB needed \(105 MB to download, 412 MB to unpack, 100 MB margin\); nothing was installed/,
        );
        assert.match(res.stderr, /command: free space check before apt-get install --no-install-recommends code/);
        assert.deepEqual(realAptCalls(dir), [], "apt-get ran the install although the space check failed");
        assert.equal(fs.existsSync(path.join(dir, "installed")), false);
    });

    it("installs when the room is there, rounding apt's kB and GB figures up to whole MB", () => {
        const dir = tempDir("space-ok");
        fakes(dir, "1,501 kB", "1.2 GB", 1303);
        const res = runBash(stage(tempDir("space-ok-log"), "ws_stage_begin\nws_step install ws_apt_install code\nws_stage_end"), { pathPrefix: [dir] });
        // 2 MB + 1200 MB + 100 MB margin = 1302 MB needed, 1303 free.
        assert.equal(res.code, 0, res.stderr);
        assert.equal(realAptCalls(dir).length, 1);
        assert.equal(fs.existsSync(path.join(dir, "installed")), true);
    });

    it("counts the margin: one MB short of it fails", () => {
        const dir = tempDir("space-margin");
        fakes(dir, "0 B", "50 MB", 149);
        const res = runBash(stage(tempDir("space-margin-log"), "ws_stage_begin\nws_step install ws_apt_install code\nws_stage_end"), { pathPrefix: [dir] });
        assert.equal(res.code, 1);
        assert.match(res.stderr, /149 MB free on \/usr, 150 MB needed \(0 B to download, 50 MB to unpack, 100 MB margin\)/);
    });
});

describe("provisioning lib: dpkg lock waits", () => {
    function fakeApt(dir: string) {
        fakeCommand(dir, "apt-get", "exit 0");
        fakeCommand(dir, "dpkg-query", "exit 1");
    }

    it("measures the time another process held the lock and adds lockWaitSeconds to the timing line", () => {
        const logDir = tempDir("lockwait");
        const fakes = tempDir("lockwait-fakes");
        fakeApt(fakes);
        const lock = path.join(fakes, "lock-frontend");
        fs.writeFileSync(lock, "");
        // `flock` holds a real lock that /proc/locks lists, as dpkg's fcntl lock is listed.
        const body = [`flock ${lock} sleep 0.8 & sleep 0.2`, "ws_stage_begin", "ws_step install ws_apt_install xrdp", "ws_stage_end", "wait"].join("\n");
        const res = runBash(stage(logDir, body, { WS_DPKG_LOCK_FILE: lock, WS_DPKG_QUEUE_FILE: path.join(fakes, "queue") }), { pathPrefix: [fakes] });
        assert.equal(res.code, 0, res.stderr);
        const t = lastTiming(res.stdout) as ReturnType<typeof lastTiming> & { lockWaitSeconds?: number };
        assert.ok(
            t.lockWaitSeconds !== undefined && t.lockWaitSeconds >= 0.4 && t.lockWaitSeconds <= t.seconds,
            `lockWaitSeconds ${t.lockWaitSeconds} of ${t.seconds}`,
        );
        assert.match(res.stderr, /waiting for the dpkg lock/);
    });

    it("measures each stage's wait for its own turn when stages install at the same time", () => {
        const fakes = tempDir("lockqueue-fakes");
        fakeCommand(fakes, "apt-get", "sleep 0.7");
        fakeCommand(fakes, "dpkg-query", "exit 1");
        const lock = path.join(fakes, "lock-frontend");
        fs.writeFileSync(lock, "");
        const vars = (name: string) => ({
            WS_STAGE: name,
            WS_LOG_DIR: tempDir(`lockqueue-${name}`),
            WS_APT_RETRY_SLEEP: "0",
            WS_DPKG_LOCK_FILE: lock,
            WS_DPKG_QUEUE_FILE: path.join(fakes, "queue"),
        });
        const one = (name: string) =>
            [
                `( ${["#!/usr/bin/env bash", ...Object.entries(vars(name)).map(([k, v]) => `${k}='${v}'`)].slice(1).join("; ")}`,
                '  source "$LIB"; ws_stage_begin; ws_step install ws_apt_install xrdp; ws_stage_end ) >"$OUT/' + name + '" &',
            ].join("\n");
        const out = tempDir("lockqueue-out");
        const script = [`LIB='${path.join(__dirname, "..", "..", "provisioning", "lib.sh")}'`, `OUT='${out}'`, one("a"), one("b"), "wait"].join("\n");
        const res = runBash(script, { pathPrefix: [fakes] });
        assert.equal(res.code, 0, res.stderr);
        const waits = ["a", "b"].map((n) => (lastTiming(fs.readFileSync(path.join(out, n), "utf8")) as { lockWaitSeconds?: number }).lockWaitSeconds ?? 0);
        // One went first; the other waited for its whole apt-get run.
        assert.ok(Math.min(...waits) < 0.3 && Math.max(...waits) >= 0.5, `waits ${JSON.stringify(waits)}`);
    });

    it("leaves lockWaitSeconds out when nothing held the lock", () => {
        const logDir = tempDir("nolockwait");
        const fakes = tempDir("nolockwait-fakes");
        fakeApt(fakes);
        const lock = path.join(fakes, "lock-frontend");
        fs.writeFileSync(lock, "");
        const res = runBash(
            stage(logDir, "ws_stage_begin\nws_step install ws_apt_install xrdp\nws_stage_end", {
                WS_DPKG_LOCK_FILE: lock,
                WS_DPKG_QUEUE_FILE: path.join(fakes, "queue"),
            }),
            { pathPrefix: [fakes] },
        );
        assert.equal(res.code, 0, res.stderr);
        assert.doesNotMatch(res.stdout.trimEnd().split("\n").pop()!, /lockWaitSeconds/);
    });
});

describe("provisioning lib: batched installs", () => {
    const LIB = path.join(__dirname, "..", "..", "provisioning", "lib.sh");
    // Stages as background jobs sharing one dpkg queue and batch dir; apt-get is a fake that
    // logs its install arguments and takes 1.5 s (fails when it is asked for "bad"); its
    // free-space dry run (--assume-no) gives no figures, so the check passes unlogged.
    // A job starts once its `after` file exists: "calls" (an apt-get run has begun) or a
    // request in the batch dir, so the order does not hang on how fast the machine is.
    function run(name: string, jobs: { stage: string; body: string; after?: string }[]) {
        const fakes = tempDir(`${name}-fakes`);
        fakeCommand(
            fakes,
            "apt-get",
            `for a in "$@"; do [ "$a" = update ] && exit 0; [ "$a" = --assume-no ] && exit 1; done
printf '%s\\n' "$*" >>"${fakes}/calls"; sleep 1.5; case " $* " in *" bad "*) echo "E: bad package"; exit 100;; esac; exit 0`,
        );
        fakeCommand(fakes, "dpkg-query", "exit 1");
        fs.writeFileSync(path.join(fakes, "lock-frontend"), "");
        fs.mkdirSync(path.join(fakes, "debs"));
        for (const deb of ["a_1_amd64.deb", "b_1_amd64.deb"]) fs.writeFileSync(path.join(fakes, "debs", deb), "deb");
        const out = tempDir(`${name}-out`);
        const common = `WS_LOG_DIR='${out}/log'; WS_APT_RETRY_SLEEP=0; WS_VAR_DIR='${fakes}/var'; WS_DPKG_LOCK_FILE='${fakes}/lock-frontend'; WS_DPKG_QUEUE_FILE='${fakes}/queue.lock'`;
        const script = [
            `DEBS='${fakes}/debs'`,
            ...jobs.map(
                (j) =>
                    `( ${j.after ? `until [ -e '${fakes}/${j.after}' ]; do sleep 0.05; done; sleep 0.2;` : ""} WS_STAGE='${j.stage}'; ${common}; source '${LIB}'; ws_stage_begin; ${j.body}; ws_stage_end ) >'${out}/${j.stage}.out' 2>'${out}/${j.stage}.err' &`,
            ),
            'rc=0; for j in $(jobs -p); do wait "$j" || rc=1; done; exit $rc',
        ].join("\n");
        const res = runBash(script, { pathPrefix: [fakes] });
        const calls = fs
            .readFileSync(path.join(fakes, "calls"), "utf8")
            .trimEnd()
            .split("\n")
            .map((c) => c.slice(c.indexOf(" install ") + 1));
        const stderr = (stage: string) => fs.readFileSync(path.join(out, `${stage}.err`), "utf8");
        const code = (stage: string) => (fs.readFileSync(path.join(out, `${stage}.out`), "utf8").includes("::workstation-timing::") ? 0 : 1);
        return { res, calls, stderr, code };
    }

    it("installs what waits for its turn in one apt-get, deferred packages with the first", () => {
        const r = run("batch", [
            { stage: "prep", body: "ws_step base ws_apt_defer fail2ban nftables" },
            { stage: "desk", body: "ws_step packages ws_apt_install_batched xrdp", after: "queue.d/deferred-prep.req" },
            { stage: "ide-a", body: 'ws_step install ws_apt_install_batched "$DEBS/a_1_amd64.deb"', after: "calls" },
            { stage: "ide-b", body: 'ws_step install ws_apt_install_batched "$DEBS/b_1_amd64.deb"', after: "calls" },
        ]);
        assert.equal(r.res.code, 0, r.res.stderr);
        assert.equal(r.calls.length, 2, r.calls.join("\n"));
        assert.deepEqual(r.calls[0]!.split(" ").sort(), ["--no-install-recommends", "fail2ban", "install", "nftables", "xrdp"]);
        // The second run takes both IDE packages, hard-linked (or copied) into the batch's archives dir.
        assert.match(r.calls[1]!, /^install --no-install-recommends \S+\/apt\/batch-archives\/[ab]_1_amd64\.deb \S+\/apt\/batch-archives\/[ab]_1_amd64\.deb$/);
        assert.match(r.stderr("ide-a") + r.stderr("ide-b"), /installed by the dpkg run of ide-[ab], which took this stage's request too/);
    });

    it("installs each stage's request alone after a shared run failed, so the failing stage reports it", () => {
        const r = run("batchfail", [
            { stage: "desk", body: "ws_step packages ws_apt_install_batched xrdp" },
            { stage: "one", body: "ws_step install ws_apt_install_batched bad", after: "calls" },
            { stage: "two", body: "ws_step install ws_apt_install_batched good", after: "calls" },
        ]);
        assert.equal(r.res.code, 1);
        assert.equal(r.code("one"), 1);
        assert.equal(r.code("two"), 0, r.stderr("two"));
        assert.match(r.stderr("one"), /FAILED: stage one, step install/);
        const alone = r.calls.filter((c) => c.split(" ").length === 3);
        assert.deepEqual(
            alone
                .map((c) => c.split(" ")[2])
                .filter((p) => p !== "xrdp")
                .sort(),
            ["bad", "good"],
            r.calls.join("\n"),
        );
    });
});

describe("provisioning lib: xrdp listeners", () => {
    const cases: [string, boolean][] = [
        ["127.0.0.1:3389", true],
        ["127.0.0.1:3389\n127.0.0.1:3350", true],
        ["0.0.0.0:3389", false],
        ["*:3389", false],
        ["127.0.0.1:3389\n[::]:3389", false],
        ["127.0.0.1:3389\n0.0.0.0:3350", false],
        ["", false],
    ];
    for (const [listeners, expected] of cases) {
        it(`judges ${JSON.stringify(listeners)} as ${expected ? "loopback only" : "not loopback only"}`, () => {
            const res = runBash(assemble({}, `if ws_xrdp_loopback_only $'${listeners.replace(/\n/g, "\\n")}'; then echo yes; else echo no; fi`));
            assert.equal(res.stdout.trim(), expected ? "yes" : "no", res.stderr);
        });
    }
});

describe("ide.sh configuration", () => {
    it("fails naming the variable that is missing", () => {
        const logDir = tempDir("ide-config");
        const res = runBash(
            assemble({ WS_STAGE: "ide-vscode", WS_LOG_DIR: logDir, WS_IDE: "vscode", WS_IDE_REPO_URL: "http://127.0.0.1:1/repo" }, readScript("ide.sh")),
        );
        assert.notEqual(res.code, 0);
        assert.match(res.stderr, /FAILED: stage ide-vscode, step check-config/);
        assert.match(res.stderr, /WS_IDE_SUITE must be set/);
    });
});
