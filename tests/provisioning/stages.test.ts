import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { assemble, fakeCommand, lastTiming, readScript, result, runBash, tempDir } from "./helpers";

interface Alert {
    level: "warning" | "critical";
    kind: "memory" | "disk" | "cpu" | "stage";
    stage?: string;
    message: string;
}

interface Report {
    generatedAt: string;
    resources: { samples: number; peakMemUsedMB: number | null; minMemAvailMB: number | null; minDiskAvailMB: number | null; maxCPUPercent: number | null };
    benchmark: { cpuSeconds: number; diskWriteMBps: number };
    alerts: Alert[];
    regression: { previous: { generatedAt: string; cpuSeconds: number; diskWriteMBps: number } | null; regressed: boolean; details: string[] };
    stages: Record<string, { seconds: number; status: string; estimate: number | null }>;
    samples: { t: number; memUsedMB: number; memAvailMB: number; cpuPercent: number }[];
}

const TIMING_CSV = [
    "Timestamp,Phase,DurationSec,Status",
    "2026-01-10T09:58:00Z,wait-ready,5.000,ok",
    "2026-01-10T10:00:00Z,system-prep,30.000,ok",
    "2026-01-10T10:02:00Z,desktop,100.000,ok",
    "2026-01-10T10:02:10Z,ide-vscode,70.000,ok",
    "2026-01-10T10:02:20Z,ide-cursor,20.000,failed",
    "2026-01-10T10:03:00Z,ide-cursor,59.000,ok",
    "",
].join("\n");

// The first row is before this run (wait-ready began at 09:57:55) and must not count.
const RESOURCES_CSV = [
    "Timestamp,MemUsedMB,MemAvailMB,CPUPercent,DiskAvailMB,LoadAvg1m,ProcessCount",
    "2026-01-10T09:00:00Z,1900,100,100.0,1000,3.00,300",
    "2026-01-10T09:58:00Z,800,1200,35.0,40000,0.50,120",
    "2026-01-10T10:01:00Z,1600,420,97.5,4000,2.10,180",
    "2026-01-10T10:02:00Z,1500,600,80.0,4500,1.90,170",
    "",
].join("\n");

const ESTIMATES = "wait-ready=10 system-prep=40 desktop=45 ide-vscode=40 ide-cursor=40";

function runReport(logDir: string) {
    return runBash(
        assemble(
            { WS_STAGE: "report", WS_LOG_DIR: logDir, WS_STAGE_ESTIMATES: ESTIMATES, WS_BENCH_CPU_MB: "8", WS_BENCH_DISK_MB: "4" },
            readScript("report.sh"),
        ),
    );
}

function logDirWith(prefix: string, previous?: object): string {
    const dir = tempDir(prefix);
    fs.writeFileSync(path.join(dir, "timing.csv"), TIMING_CSV);
    fs.writeFileSync(path.join(dir, "resources.csv"), RESOURCES_CSV);
    if (previous) fs.writeFileSync(path.join(dir, "performance-report.json"), `${JSON.stringify(previous)}\n`);
    return dir;
}

describe("report.sh", () => {
    it("raises stage alerts at 150 % (warning) and 200 % (critical) of the estimate, from the latest row per stage", () => {
        const res = runReport(logDirWith("report-stages"));
        assert.equal(res.code, 0, res.stderr);
        const report = result<Report>(res.stdout);
        const stageAlerts = report.alerts.filter((a) => a.kind === "stage");
        assert.deepEqual(
            stageAlerts.map((a) => [a.level, a.stage]),
            [
                ["critical", "desktop"], // 100 s of 45 s: 222 %
                ["warning", "ide-vscode"], // 70 s of 40 s: 175 %
            ],
        );
        // ide-cursor's latest row (59 s of 40 s, 147 %) counts, not the failed 20 s one.
        assert.deepEqual(report.stages["ide-cursor"], { seconds: 59, status: "ok", estimate: 40 });
        assert.match(stageAlerts[0]!.message, /desktop took 100\.0 s, 222% of its 45 s estimate/);
    });

    it("summarises the resource samples of the current run and raises memory, disk and CPU alerts", () => {
        const dir = logDirWith("report-resources");
        const res = runReport(dir);
        assert.equal(res.code, 0, res.stderr);
        const report = result<Report>(res.stdout);
        assert.deepEqual(report.resources, { samples: 3, peakMemUsedMB: 1600, minMemAvailMB: 420, minDiskAvailMB: 4000, maxCPUPercent: 97.5 });
        assert.deepEqual(
            report.alerts.filter((a) => a.kind !== "stage").map((a) => [a.level, a.kind]),
            [
                ["warning", "memory"],
                ["warning", "disk"],
                ["warning", "cpu"],
            ],
        );
        assert.ok(report.benchmark.cpuSeconds > 0 && report.benchmark.diskWriteMBps > 0, JSON.stringify(report.benchmark));
        assert.deepEqual(report.regression, { previous: null, regressed: false, details: [] });
        const written = JSON.parse(fs.readFileSync(path.join(dir, "performance-report.json"), "utf8")) as Report;
        assert.deepEqual(written, report);
        assert.equal(lastTiming(res.stdout).status, "ok");
    });

    it("carries the current run's memory and CPU samples, with epoch times, for the timeline picture", () => {
        const report = result<Report>(runReport(logDirWith("report-samples")).stdout);
        assert.deepEqual(report.samples, [
            { t: Date.UTC(2026, 0, 10, 9, 58) / 1000, memUsedMB: 800, memAvailMB: 1200, cpuPercent: 35 },
            { t: Date.UTC(2026, 0, 10, 10, 1) / 1000, memUsedMB: 1600, memAvailMB: 420, cpuPercent: 97.5 },
            { t: Date.UTC(2026, 0, 10, 10, 2) / 1000, memUsedMB: 1500, memAvailMB: 600, cpuPercent: 80 },
        ]);
    });

    it("flags critical memory and disk when they fall under 250 MB and 2 GB", () => {
        const dir = logDirWith("report-critical");
        fs.appendFileSync(path.join(dir, "resources.csv"), "2026-01-10T10:02:30Z,1800,200,10.0,1500,1.0,100\n");
        const report = result<Report>(runReport(dir).stdout);
        assert.deepEqual(
            report.alerts.filter((a) => a.kind === "memory" || a.kind === "disk").map((a) => [a.level, a.kind]),
            [
                ["critical", "memory"],
                ["critical", "disk"],
            ],
        );
    });

    it("reports a regression when the benchmark is over 20 % slower than the previous report's", () => {
        const previous = { generatedAt: "2026-01-09T00:00:00Z", benchmark: { cpuSeconds: 0.000001, diskWriteMBps: 1e9 } };
        const report = result<Report>(runReport(logDirWith("report-regressed", previous)).stdout);
        assert.equal(report.regression.regressed, true);
        assert.deepEqual(report.regression.previous, { generatedAt: "2026-01-09T00:00:00Z", cpuSeconds: 0.000001, diskWriteMBps: 1e9 });
        assert.equal(report.regression.details.length, 2);
        assert.match(report.regression.details[0]!, /^cpu benchmark/);
        assert.match(report.regression.details[1]!, /^disk write/);
    });

    it("reports no regression against a slower previous report", () => {
        const previous = { generatedAt: "2026-01-09T00:00:00Z", benchmark: { cpuSeconds: 1000, diskWriteMBps: 0.001 } };
        const report = result<Report>(runReport(logDirWith("report-faster", previous)).stdout);
        assert.equal(report.regression.regressed, false);
        assert.deepEqual(report.regression.details, []);
        assert.equal(report.regression.previous?.cpuSeconds, 1000);
    });

    it("skips when no stage did work since the last report, printing that report again", () => {
        const dir = logDirWith("report-skip");
        const first = runReport(dir);
        // A row in the report's own second was read by it; a skipped stage and verify
        // (which only checks) are no new work.
        const generatedAt = result<Report>(first.stdout).generatedAt;
        fs.appendFileSync(
            path.join(dir, "timing.csv"),
            `${generatedAt},harden,1.500,ok\n2099-01-01T00:00:00Z,desktop,0.100,skipped\n2099-01-01T00:00:01Z,verify,0.200,ok\n`,
        );
        const second = runReport(dir);
        assert.equal(second.code, 0, second.stderr);
        assert.equal(lastTiming(second.stdout).status, "skipped");
        assert.deepEqual(result<Report>(second.stdout), result<Report>(first.stdout));
        assert.match(second.stderr, /no stage did any work since the report/);
        // A stage that worked after it makes the next run report again.
        fs.appendFileSync(path.join(dir, "timing.csv"), "2099-01-01T00:00:05Z,desktop,50.000,ok\n");
        const third = runReport(dir);
        assert.equal(lastTiming(third.stdout).status, "ok");
        assert.equal(result<Report>(third.stdout).stages.desktop!.seconds, 50);
    });
});

describe("system-prep.sh: the password", () => {
    const PASSWORD = "S3cret-p@ss 'with' \"quotes\"";

    function run(fakes: string, shadowHash: string) {
        fakeCommand(fakes, "chpasswd", `printf '%s\\n' "$@" >"${fakes}/chpasswd.argv"; cat >"${fakes}/chpasswd.stdin"; env >"${fakes}/chpasswd.env"`);
        fakeCommand(fakes, "getent", `[ "$1" = shadow ] && [ -n '${shadowHash}' ] && printf '%s\\n' 'wsuser:${shadowHash}:19000:0:99999:7:::'`);
        const logDir = tempDir("prep-log");
        const body = `WS_NO_MAIN=1\n${readScript("system-prep.sh")}\nws_stage_begin\nsp_password\nws_stage_end`;
        return runBash(assemble({ WS_STAGE: "system-prep", WS_LOG_DIR: logDir, WS_USERNAME: "wsuser", WS_PASSWORD: PASSWORD }, body), {
            pathPrefix: [fakes],
        });
    }

    it("gives the password to chpasswd on stdin only, never in argv, its environment or the output", () => {
        const fakes = tempDir("prep-fakes");
        const res = run(fakes, "");
        assert.equal(res.code, 0, res.stderr);
        assert.equal(fs.readFileSync(path.join(fakes, "chpasswd.stdin"), "utf8"), `wsuser:${PASSWORD}\n`);
        assert.equal(fs.readFileSync(path.join(fakes, "chpasswd.argv"), "utf8").includes("S3cret"), false);
        assert.equal(fs.readFileSync(path.join(fakes, "chpasswd.env"), "utf8").includes("S3cret"), false);
        assert.equal(`${res.stdout}${res.stderr}`.includes("S3cret"), false);
        const t = lastTiming(res.stdout);
        assert.deepEqual(t.steps, [{ name: "password", seconds: t.steps[0]!.seconds, status: "ok" }]);
    });

    it("keeps the password out of chpasswd's environment also when it arrives exported", () => {
        const fakes = tempDir("prep-env-fakes");
        fakeCommand(fakes, "chpasswd", `cat >/dev/null; env >"${fakes}/chpasswd.env"`);
        fakeCommand(fakes, "getent", "exit 2");
        const logDir = tempDir("prep-env-log");
        const body = `WS_NO_MAIN=1\n${readScript("system-prep.sh")}\nws_stage_begin\nsp_password\nws_stage_end`;
        const res = runBash(assemble({ WS_STAGE: "system-prep", WS_LOG_DIR: logDir, WS_USERNAME: "wsuser" }, body), {
            pathPrefix: [fakes],
            env: { WS_PASSWORD: PASSWORD },
        });
        assert.equal(res.code, 0, res.stderr);
        assert.equal(fs.readFileSync(path.join(fakes, "chpasswd.env"), "utf8").includes("S3cret"), false);
    });

    it("skips chpasswd when the user's password already is WS_PASSWORD", () => {
        const fakes = tempDir("prep-same");
        const hash = execFileSync("openssl", ["passwd", "-6", "-salt", "wsSaltSalt", "-stdin"], { input: PASSWORD, encoding: "utf8" }).trim();
        const res = run(fakes, hash);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(fs.existsSync(path.join(fakes, "chpasswd.stdin")), false);
        assert.equal(lastTiming(res.stdout).status, "skipped");
        assert.match(res.stderr, /password: skipped, the password is already set/);
    });

    it("sets it again when the stored hash is of another password", () => {
        const fakes = tempDir("prep-other");
        const hash = execFileSync("openssl", ["passwd", "-6", "-salt", "wsSaltSalt", "-stdin"], { input: "another", encoding: "utf8" }).trim();
        const res = run(fakes, hash);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(fs.readFileSync(path.join(fakes, "chpasswd.stdin"), "utf8"), `wsuser:${PASSWORD}\n`);
    });
});

describe("verify.sh", () => {
    /** A var dir where each IDE stage recorded its choice (`package=command`). */
    function choices(records: Record<string, string>): string {
        const varDir = tempDir("verify-var");
        fs.mkdirSync(path.join(varDir, "ide"));
        for (const [ide, choice] of Object.entries(records)) fs.writeFileSync(path.join(varDir, "ide", `${ide}.choice`), `${choice}\n`);
        return varDir;
    }

    it("prints every check as JSON, then fails when one failed", () => {
        const logDir = tempDir("verify");
        const fakes = tempDir("verify-fakes");
        fakeCommand(fakes, "fake-ide", `echo "1.2.3"; echo "abcdef"; echo x64`);
        fakeCommand(fakes, "sudo", "exit 0");
        fakeCommand(fakes, "dpkg-query", `printf 'ii '`);
        const varDir = choices({ vscode: "code=fake-ide", cursor: "cursor=ws-missing-ide" });
        const res = runBash(
            assemble(
                {
                    WS_STAGE: "verify",
                    WS_LOG_DIR: logDir,
                    WS_VAR_DIR: varDir,
                    WS_USERNAME: "ws-no-such-user",
                    WS_DESKTOP: "false",
                    WS_IDES: "vscode cursor antigravity",
                },
                readScript("verify.sh"),
            ),
            { pathPrefix: [fakes] },
        );
        assert.equal(res.code, 1);
        const r = result<{ ok: boolean; checks: { name: string; ok: boolean; detail: string; version?: string }[]; versions: Record<string, string> }>(
            res.stdout,
        );
        assert.equal(r.ok, false);
        assert.deepEqual(
            r.checks.map((c) => [c.name, c.ok, c.version]),
            [
                ["ide-vscode", true, "1.2.3"],
                ["ide-cursor", false, undefined],
                ["ide-antigravity", false, undefined],
                ["sudo", true, undefined],
            ],
        );
        assert.equal(r.checks[1].detail, "'ws-missing-ide' (from cursor) not found on PATH");
        assert.equal(r.checks[2].detail, `no package chosen: ${varDir}/ide/antigravity.choice is missing (did ide-antigravity run?)`);
        assert.deepEqual(r.versions, { vscode: "1.2.3" });
        assert.match(res.stderr, /FAILED: stage verify, step checks/);
        assert.match(res.stderr, /ide-cursor/);
    });

    it("reports the package and command each IDE stage chose", () => {
        const logDir = tempDir("verify-ok");
        const fakes = tempDir("verify-ok-fakes");
        fakeCommand(fakes, "antigravity-ide", `echo "2.0.1"`);
        fakeCommand(fakes, "code", `echo "1.99.0"`);
        fakeCommand(fakes, "sudo", "exit 0");
        fakeCommand(fakes, "dpkg-query", `printf 'ii '`);
        const varDir = choices({ vscode: "code=code", antigravity: "antigravity-ide=antigravity-ide" });
        const res = runBash(
            assemble(
                {
                    WS_STAGE: "verify",
                    WS_LOG_DIR: logDir,
                    WS_VAR_DIR: varDir,
                    WS_USERNAME: "ws-no-such-user",
                    WS_DESKTOP: "false",
                    WS_IDES: "vscode antigravity",
                },
                readScript("verify.sh"),
            ),
            { pathPrefix: [fakes] },
        );
        assert.equal(res.code, 0, res.stderr);
        const r = result<{ ok: boolean; checks: { name: string; package?: string; command?: string }[]; ides: Record<string, unknown> }>(res.stdout);
        assert.equal(r.ok, true);
        assert.deepEqual(r.ides, {
            vscode: { package: "code", command: "code", version: "1.99.0" },
            antigravity: { package: "antigravity-ide", command: "antigravity-ide", version: "2.0.1" },
        });
        assert.deepEqual(
            r.checks.map((c) => [c.name, c.package, c.command]),
            [
                ["ide-vscode", "code", "code"],
                ["ide-antigravity", "antigravity-ide", "antigravity-ide"],
                ["sudo", undefined, undefined],
            ],
        );
        assert.equal(lastTiming(res.stdout).stage, "verify");
    });

    it("fails an IDE whose chosen package is not installed", () => {
        const fakes = tempDir("verify-gone-fakes");
        fakeCommand(fakes, "antigravity", `echo "1.0.0"`);
        fakeCommand(fakes, "sudo", "exit 0");
        fakeCommand(fakes, "dpkg-query", "exit 1");
        const res = runBash(
            assemble(
                {
                    WS_STAGE: "verify",
                    WS_LOG_DIR: tempDir("verify-gone"),
                    WS_VAR_DIR: choices({ antigravity: "antigravity-ide=antigravity-ide" }),
                    WS_USERNAME: "ws-no-such-user",
                    WS_DESKTOP: "false",
                    WS_IDES: "antigravity",
                },
                readScript("verify.sh"),
            ),
            { pathPrefix: [fakes] },
        );
        assert.equal(res.code, 1);
        const r = result<{ checks: { name: string; ok: boolean; detail: string }[] }>(res.stdout);
        assert.deepEqual(r.checks[0], {
            name: "ide-antigravity",
            ok: false,
            detail: "package antigravity-ide (chosen by ide-antigravity) is not installed",
            package: "antigravity-ide",
            command: "antigravity-ide",
        });
    });
});

describe("ide.sh: choosing the package among the candidates", () => {
    const CANDIDATES = "antigravity-ide=antigravity-ide antigravity=antigravity";
    const REPO = "http://127.0.0.1:9/antigravity";

    /** Runs the choose step with a fake apt-cache whose repository offers `offered`. */
    function choose(offered: string[], candidates = CANDIDATES): { res: ReturnType<typeof runBash>; calls: string[] } {
        const fakes = tempDir("ide-choose-fakes");
        const calls = path.join(fakes, "apt-cache.calls");
        // apt-cache policy as apt prints it: a Candidate line for a known package, nothing for an unknown one.
        fakeCommand(
            fakes,
            "apt-cache",
            [
                `printf '%s\\n' "$*" >> ${JSON.stringify(calls)}`,
                `pkg="\${@: -1}"`,
                `case " ${offered.join(" ")} " in *" $pkg "*) printf '%s:\\n  Installed: (none)\\n  Candidate: 1.0-1\\n  Version table:\\n' "$pkg" ;; esac`,
            ].join("\n"),
        );
        const body = [readScript("ide.sh"), "ws_stage_begin", "ide_check_vars", "ws_step choose ide_choose", 'echo "choice=$(cat "$WS__TMP/choice")"'].join(
            "\n",
        );
        const res = runBash(
            assemble(
                {
                    WS_NO_MAIN: "1",
                    WS_STAGE: "ide-antigravity",
                    WS_LOG_DIR: tempDir("ide-choose"),
                    WS_VAR_DIR: tempDir("ide-choose-var"),
                    WS_IDE: "antigravity",
                    WS_IDE_REPO_URL: REPO,
                    WS_IDE_SUITE: "antigravity-debian",
                    WS_IDE_COMPONENTS: "main",
                    WS_IDE_KEY_URL: "http://127.0.0.1:9/key.asc",
                    WS_IDE_KEYRING: "/etc/apt/keyrings/antigravity-repo-key.gpg",
                    WS_IDE_SOURCE_NAME: "antigravity.sources",
                    WS_IDE_CANDIDATES: candidates,
                },
                body,
            ),
            { pathPrefix: [fakes] },
        );
        return { res, calls: fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trimEnd().split("\n") : [] };
    }

    it("installs the first candidate the repository offers, asking only this IDE's source and lists", () => {
        const { res, calls } = choose(["antigravity", "antigravity-ide"]);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stdout, /^choice=antigravity-ide=antigravity-ide$/m);
        assert.match(
            res.stderr,
            /chosen: antigravity-ide \(command antigravity-ide\), the first of \[antigravity-ide, antigravity\] that http:\/\/127\.0\.0\.1:9\/antigravity offers/,
        );
        assert.equal(calls.length, 1, "stops at the first offered candidate");
        assert.match(calls[0], /-o Dir::State::Lists=\S+\/apt\/antigravity\/lists\/ /);
        assert.match(calls[0], /-o Dir::Etc::sourcelist=\/etc\/apt\/sources\.list\.d\/antigravity\.sources -o Dir::Etc::sourceparts=- /);
        assert.match(calls[0], /-o Dir::State::status=\/dev\/null policy antigravity-ide$/);
    });

    it("takes the old name from a repository that offers only the old name", () => {
        const { res, calls } = choose(["antigravity"]);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stdout, /^choice=antigravity=antigravity$/m);
        assert.match(res.stderr, /not offered: antigravity-ide/);
        assert.deepEqual(
            calls.map((c) => c.split(" ").pop()),
            ["antigravity-ide", "antigravity"],
        );
    });

    it("fails naming the IDE, the repository and the candidates when none is offered", () => {
        const { res } = choose(["antigravity-agent"]);
        assert.notEqual(res.code, 0);
        assert.match(res.stderr, /FAILED: stage ide-antigravity, step choose/);
        assert.match(
            res.stderr,
            /IDE antigravity: the repository http:\/\/127\.0\.0\.1:9\/antigravity \(antigravity-debian main\) offers none of the candidates \[antigravity-ide, antigravity\]; set workstation:ideSources\.antigravity\.candidates to a package it offers/,
        );
    });

    it("refuses a candidate that is not package=command", () => {
        const { res } = choose(["antigravity"], "antigravity-ide antigravity=antigravity");
        assert.notEqual(res.code, 0);
        assert.match(res.stderr, /WS_IDE_CANDIDATES entry 'antigravity-ide' must be package=command/);
    });
});

describe("ide.sh: reading the vendor's repository", () => {
    const REPO = "http://127.0.0.1:9/code";

    /** Runs the lists step with a fake apt-get update that prints OUTPUT and exits RC. */
    function lists(output: string, rc: number): ReturnType<typeof runBash> {
        const fakes = tempDir("ide-lists-fakes");
        fakeCommand(fakes, "apt-get", `printf '%s\\n' ${JSON.stringify(output)}; exit ${rc}`);
        fakeCommand(fakes, "id", "exit 1");
        const body = [readScript("ide.sh"), "ws_stage_begin", "ide_check_vars", "ws_step lists ide_lists", "echo lists-ok"].join("\n");
        return runBash(
            assemble(
                {
                    WS_NO_MAIN: "1",
                    WS_STAGE: "ide-vscode",
                    WS_LOG_DIR: tempDir("ide-lists"),
                    WS_VAR_DIR: tempDir("ide-lists-var"),
                    WS_APT_RETRY_SLEEP: "0",
                    WS_IDE: "vscode",
                    WS_IDE_REPO_URL: REPO,
                    WS_IDE_SUITE: "stable",
                    WS_IDE_COMPONENTS: "main",
                    WS_IDE_KEY_URL: "http://127.0.0.1:9/key.asc",
                    WS_IDE_KEYRING: "/etc/apt/keyrings/packages.microsoft.gpg",
                    WS_IDE_SOURCE_NAME: "vscode.sources",
                    WS_IDE_CANDIDATES: "code=code",
                },
                body,
            ),
            { pathPrefix: [fakes] },
        );
    }

    it("fails naming the IDE, the repository and apt's error when the repository answers errors", () => {
        const res = lists(`E: Failed to fetch ${REPO}/dists/stable/InRelease  503  Service Unavailable [IP: 127.0.0.1 9]`, 100);
        assert.equal(res.code, 100);
        assert.match(res.stderr, /FAILED: stage ide-vscode, step lists, exit code 100/);
        assert.match(
            res.stderr,
            /IDE vscode: its repository http:\/\/127\.0\.0\.1:9\/code \(stable main\) could not be read: E: Failed to fetch \S+ {2}503 {2}Service Unavailable/,
        );
        assert.doesNotMatch(res.stdout, /lists-ok/);
    });

    it("fails on a bad signature that apt-get update only warns about (exit 0)", () => {
        const res = lists(`W: GPG error: ${REPO} stable InRelease: The following signatures were invalid: BADSIG 0123456789ABCDEF stand-in`, 0);
        assert.equal(res.code, 1);
        assert.match(res.stderr, /IDE vscode: its repository http:\/\/127\.0\.0\.1:9\/code \(stable main\) could not be read: W: GPG error: .* BADSIG/);
    });

    it("goes on when the repository reads cleanly", () => {
        const res = lists(`Get:1 ${REPO} stable InRelease [1234 B]\nReading package lists...`, 0);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stdout, /lists-ok/);
    });
});

describe("system-prep.sh: keys for the user", () => {
    const GENERATED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGeneratedGeneratedGeneratedGeneratedGene workstation";
    const DO_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDigitalOceanDigitalOceanDigitalOceanDigita alice@laptop";
    const REFUSAL = "no-port-forwarding,command=\"echo 'Please login as the user dev'\" ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQRefusal root";

    function missing(copyRootKeys: string): string[] {
        const fakes = tempDir("keys-fakes");
        const home = tempDir("keys-home");
        fs.mkdirSync(path.join(home, ".ssh"));
        fs.writeFileSync(path.join(home, ".ssh", "authorized_keys"), `${GENERATED.replace("workstation", "cloud-init")}\n`);
        const rootKeys = path.join(tempDir("keys-root"), "authorized_keys");
        fs.writeFileSync(rootKeys, `${REFUSAL}\n${DO_KEY}\n`);
        fakeCommand(fakes, "getent", `[ "$1" = passwd ] && printf '%s\\n' 'wsuser:x:1000:1000::${home}:/bin/bash'`);
        const body = `WS_NO_MAIN=1\n${readScript("system-prep.sh")}\nsp_missing_keys`;
        const res = runBash(
            assemble(
                {
                    WS_STAGE: "system-prep",
                    WS_LOG_DIR: tempDir("keys-log"),
                    WS_USERNAME: "wsuser",
                    WS_AUTHORIZED_KEYS: GENERATED,
                    WS_COPY_ROOT_KEYS: copyRootKeys,
                    WS_ROOT_AUTHORIZED_KEYS: rootKeys,
                },
                body,
            ),
            { pathPrefix: [fakes] },
        );
        assert.equal(res.code, 0, res.stderr);
        return res.stdout.split("\n").filter((l) => l);
    }

    it("adds the keys DigitalOcean gave root when existing keys are configured, and skips refusal lines", () => {
        assert.deepEqual(missing("true"), [DO_KEY]);
    });

    it("leaves root's keys alone otherwise, and counts a key with another comment as present", () => {
        assert.deepEqual(missing("false"), []);
    });
});

describe("system-prep.sh: security updates on an old image", () => {
    const DAY = 86_400;

    /** Runs sp_image_updates with a fake apt-get that lists one security and one ordinary upgrade. */
    function run(bakedAt: string | undefined) {
        const fakes = tempDir("prep-image-fakes");
        fakeCommand(
            fakes,
            "apt-get",
            [
                `printf '%s\\n' "$*" >>"${fakes}/apt-get.calls"`,
                `case " $* " in *" -s "*) printf '%s\\n' 'Inst openssl [3.5.1-1] (3.5.1-1+deb13u1 Debian-Security:13/stable-security, trixie-security [amd64])' 'Inst vim [2:9.1-1] (2:9.1-2 Debian:13.2/stable [amd64])' ;; esac`,
            ].join("\n"),
        );
        const vars: Record<string, string> = { WS_STAGE: "system-prep", WS_LOG_DIR: tempDir("prep-image-log"), WS_IMAGE_MAX_AGE_DAYS: "14" };
        if (bakedAt !== undefined) vars.WS_IMAGE_BAKED_AT = bakedAt;
        const body = `WS_NO_MAIN=1\n${readScript("system-prep.sh")}\nws_stage_begin\nsp_image_updates\nws_stage_end`;
        const res = runBash(assemble(vars, body), { pathPrefix: [fakes] });
        const callsFile = path.join(fakes, "apt-get.calls");
        return { res, calls: fs.existsSync(callsFile) ? fs.readFileSync(callsFile, "utf8").trim().split("\n") : [] };
    }

    it("upgrades only the packages with a security update when the image is older than the limit", () => {
        const { res, calls } = run(String(Math.floor(Date.now() / 1000) - 20 * DAY));
        assert.equal(res.code, 0, res.stderr);
        assert.deepEqual(
            lastTiming(res.stdout).steps.map((s) => [s.name, s.status]),
            [["security-updates", "ok"]],
        );
        assert.match(calls[0], / update$/);
        assert.match(calls.at(-1)!, / install --only-upgrade --no-install-recommends openssl$/);
        assert.match(res.stderr, /baked 20 days ago \(more than 14\)/);
    });

    it("skips on a recent image and when not started from an image", () => {
        for (const bakedAt of [String(Math.floor(Date.now() / 1000) - 3 * DAY), undefined]) {
            const { res, calls } = run(bakedAt);
            assert.equal(res.code, 0, res.stderr);
            assert.deepEqual(
                lastTiming(res.stdout).steps.map((s) => [s.name, s.status]),
                [["security-updates", "skipped"]],
            );
            assert.deepEqual(calls, []);
        }
    });

    it("refuses a bake time that is not epoch seconds, naming it", () => {
        const { res } = run("2026-12-01");
        assert.notEqual(res.code, 0);
        assert.match(`${res.stdout}${res.stderr}`, /WS_IMAGE_BAKED_AT '2026-12-01' is not epoch seconds/);
    });
});

describe("wait-ready.sh: cloud-init", () => {
    function waitReady(resultJson: string) {
        const fakes = tempDir("wait-ready-fakes");
        fakeCommand(fakes, "cloud-init", `echo "$*" >>"${fakes}/cloud-init.argv"; echo "status: done"`);
        const resultFile = path.join(fakes, "result.json");
        fs.writeFileSync(resultFile, resultJson);
        const res = runBash(
            assemble({ WS_STAGE: "wait-ready", WS_LOG_DIR: tempDir("wait-ready"), WR_CLOUD_INIT_RESULT: resultFile }, readScript("wait-ready.sh")),
            { pathPrefix: [fakes] },
        );
        const argv = fs.existsSync(path.join(fakes, "cloud-init.argv")) ? fs.readFileSync(path.join(fakes, "cloud-init.argv"), "utf8") : "";
        return { res, argv };
    }

    it("takes cloud-init's result file without errors as done, without starting cloud-init", () => {
        const { res, argv } = waitReady('{\n "v1": {\n  "datasource": "DataSourceDigitalOcean",\n  "errors": []\n }\n}\n');
        assert.equal(res.code, 0, res.stderr);
        assert.equal(argv, "");
        assert.equal(result<{ cloudInit: string }>(res.stdout).cloudInit, "done");
    });

    it("asks cloud-init itself when its result file lists errors", () => {
        const { res, argv } = waitReady('{"v1": {"errors": ["x failed"]}}\n');
        assert.equal(res.code, 0, res.stderr);
        assert.equal(argv.trim(), "status");
        assert.equal(result<{ cloudInit: string }>(res.stdout).cloudInit, "done");
    });
});
