// End to end: the unchanged program, through the local runner, on a fresh Debian 13
// test host reached over real SSH; then again on the same host with every trigger
// changed. Checks what the issue asks for: every stage succeeds, the IDE stages run at
// the same time without tripping over the dpkg lock, the host ends up as specified
// (xrdp on loopback only, key-only SSH, no root login, sudo, the IDEs, the report), the
// outputs carry timings and verification, nothing secret is printed, and the re-run
// finds everything done in under 10 s of stage time.
import * as assert from "assert";
import { execFile } from "child_process";
import { shellQuote } from "../../components/stageScript";
import { echoIndented, runTracked, stopActiveRunner } from "../../tools/shared/runnerProcess";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { RunRecord } from "../../tools/local/programRun";
import type { StageRecord } from "../../tools/local/mockCloud";
import { decodeResolved, Resolved, SecretValue, toPlain } from "../../tools/local/outputs";
import { HostState, stackVolumeFiles, volumeOwner } from "../../tools/local/runnerState";
import { destroyVolume } from "../../tools/local/volume";
import { STANDIN_MARKER } from "../../tools/local/standinDotfiles";
import { sshExec, tryPasswordLogin } from "../../tools/local/sshExec";
import { lockTrouble, secretsIn } from "./checks";
import { clearLeftoverHosts, METADATA_USER_DATA_URL, serveStandinFor, stopAllHosts, stopHost, suiteRunAlive } from "../../tools/local/testHost";

const HOST = `e2e-${String(process.pid % 10000).padStart(4, "0")}`;
const IDE_STAGES = ["ide-vscode", "ide-cursor", "ide-antigravity"];
// The runner's --standin-dotfiles sets workstation:dotfiles, so the dotfiles stage runs too.
const ALL_STAGES = ["wait-ready", "home-volume", "system-prep", "desktop", ...IDE_STAGES, "monitor", "dotfiles", "verify", "harden", "report"];
interface RunnerRun {
    code: number;
    output: string;
    record: RunRecord;
}

/** Runs `npm run local -- ARGS` (as the script does), echoing and keeping everything it printed. */
function runner(args: string[]): Promise<{ code: number; output: string }> {
    return runTracked(args, echoIndented).then(({ code, output }) => ({ code: code ?? 1, output }));
}

async function provision(args: string[]): Promise<RunnerRun> {
    const started = Date.now();
    const { code, output } = await runner(args);
    const record = new HostState(HOST).readRun<RunRecord>();
    assert.ok(record && record.startedAt >= started, `the runner (exit ${code}) left no run record for ${HOST}`);
    return { code, output, record };
}

function stage(run: RunnerRun, name: string): StageRecord {
    const s = run.record.stages.find((x) => x.stage === name);
    assert.ok(s, `stage ${name} did not run; ran: ${run.record.stages.map((x) => x.stage).join(", ")}`);
    return s;
}

function plainOutputs(run: RunnerRun): Record<string, unknown> {
    return toPlain(decodeResolved(run.record.outputs), true) as Record<string, unknown>;
}

describe(`the workstation on a local test host (${HOST})`, function () {
    // A cold cache builds the image and downloads every package once.
    this.timeout(15 * 60 * 1000);

    let first: RunnerRun;
    let second: RunnerRun | undefined;
    let ip: string;
    let key: string;
    let password: string;
    const state = new HostState(HOST);

    /**
     * `apt-get update` on the host with the stand-in repository served again (the runner
     * served it only while it ran): its output and exit code. The served key is first put
     * where the IDE sources' Signed-By lines point, so that the check is of the sources
     * the packages' postinst rewrote, not of the key (the stand-in keeps its key per cache
     * dir, as a vendor keeps its own).
     */
    async function aptUpdate(): Promise<string> {
        const repo = await serveStandinFor(first.record.host!);
        try {
            return await onHost(
                [
                    `curl -fsS ${repo.sources.vscode.keyUrl} | gpg --dearmor >/tmp/ws-e2e-standin.gpg`,
                    "for f in vscode cursor antigravity; do",
                    "  install -m 0644 /tmp/ws-e2e-standin.gpg \"$(sed -n 's/^Signed-By: //p' /etc/apt/sources.list.d/$f.sources)\"",
                    "done",
                    'apt-get update 2>&1; echo "rc=$?"',
                ].join("\n"),
            );
        } finally {
            await repo.close();
        }
    }

    /** A command on the host as the workstation user, through sudo. */
    async function onHost(script: string): Promise<string> {
        const res = await sshExec(
            { host: ip, user: "dev", privateKey: key },
            { command: "sudo -n bash -s", stdin: `set -euo pipefail\n${script}\n`, dialErrorLimit: 3 },
        );
        return res.stdout;
    }

    before(async () => {
        // A run killed before its `after` leaves its host e2e-NNNN; a live run's mocha has a
        // pid ending in NNNN, a crashed one's is gone. Stop only those, with their runner state.
        const left = await clearLeftoverHosts((name) => /^e2e-\d{4}$/.test(name) && name !== HOST && !suiteRunAlive(name));
        for (const name of left) new HostState(name).remove();
        // The dev stack's volume left by such a run would hand this one an old /home.
        for (const file of stackVolumeFiles("dev")) {
            const owner = volumeOwner(file);
            if (owner !== undefined && /^e2e-\d{4}$/.test(owner) && (owner === HOST || !suiteRunAlive(owner))) destroyVolume(file);
        }
        first = await provision(["--name", HOST, "--stack", "dev", "--standin-dotfiles"]);
        assert.ok(first.record.host, "the run record names no host");
        ip = first.record.host.ip;
        const secrets = state.readSecrets();
        const passwords = Object.values(secrets.passwords);
        assert.deepStrictEqual(Object.keys(secrets.keys).sort(), ["ws-hostkey", "ws-key"], "the provisioning key and the host key");
        assert.strictEqual(passwords.length, 1, "one password");
        key = secrets.keys["ws-key"].privateKeyOpenssh;
        password = passwords[0];
    });

    after(async () => {
        // A runner still going (a timeout) is stopped with its program child before its host.
        stopActiveRunner();
        await stopHost(HOST);
        for (const file of stackVolumeFiles("dev")) if (volumeOwner(file) === HOST) destroyVolume(file);
        state.remove();
        // In CI the machine is ours: leave no host of any run behind.
        if (process.env.CI) await stopAllHosts();
    });

    describe("a fresh host with the dev stack", () => {
        it("runs every stage of the dev stack's graph and each one succeeds", () => {
            assert.strictEqual(first.code, 0, `runner exit ${first.code}: ${first.record.error ?? ""}`);
            assert.strictEqual(first.record.ok, true);
            assert.deepStrictEqual(first.record.stages.map((s) => s.stage).sort(), [...ALL_STAGES].sort());
            assert.deepStrictEqual(first.record.warnings, [], "the provider would warn");
            for (const s of first.record.stages) {
                assert.strictEqual(s.ok, true, `${s.stage}: ${s.error ?? ""}`);
                assert.ok(s.timing, `${s.stage} printed no timing record`);
            }
            // wait-ready may find the host ready at once; these always have work on a fresh host.
            for (const name of ["system-prep", "desktop", ...IDE_STAGES, "monitor", "harden", "report"]) {
                assert.strictEqual(stage(first, name).timing!.status, "ok", `${name} found nothing to do on a fresh host`);
            }
        });

        it("installs the three IDEs at the same time, none failing or retrying on the dpkg lock", () => {
            const intervals = IDE_STAGES.map((name) => stage(first, name).timing!);
            const latestStart = Math.max(...intervals.map((t) => t.start));
            const earliestEnd = Math.min(...intervals.map((t) => t.end));
            assert.ok(latestStart < earliestEnd, `IDE stages do not overlap on the host: ${JSON.stringify(intervals.map((t) => [t.stage, t.start, t.end]))}`);
            for (const name of IDE_STAGES) {
                const s = stage(first, name);
                assert.deepStrictEqual(lockTrouble(`${s.stdout}\n${s.stderr}`), [], `${name} failed on the lock or retried`);
            }
        });

        it("leaves xrdp active and listening on 127.0.0.1:3389 only", async () => {
            assert.strictEqual((await onHost("systemctl is-active xrdp")).trim(), "active");
            const listeners = (await onHost("ss -Hltn 'sport = :3389' | awk '{print $4}' | sort -u")).trim().split("\n");
            assert.deepStrictEqual(listeners, ["127.0.0.1:3389"]);
        });

        it("configures sshd for keys only and no root login", async () => {
            const settings = (await onHost("sshd -T | grep -E '^(passwordauthentication|permitrootlogin|kbdinteractiveauthentication) ' | sort"))
                .trim()
                .split("\n");
            assert.deepStrictEqual(settings, ["kbdinteractiveauthentication no", "passwordauthentication no", "permitrootlogin no"]);
        });

        it("refuses a password login over SSH, even with the real password", async () => {
            // It is the real one: the user's shadow entry matches it (perl-base is always there).
            const quoted = shellQuote(password);
            const match = await onHost(`PW=${quoted} perl -e '$h = (getpwnam("dev"))[1]; print crypt($ENV{PW}, $h) eq $h ? "match" : "differ"'`);
            assert.strictEqual(match, "match", "the password from the run is not the user's password");
            const attempt = await tryPasswordLogin(ip, 22, "dev", password);
            assert.strictEqual(attempt.outcome, "refused", attempt.detail);
        });

        it("refuses root over SSH, even with the provisioning key", async () => {
            await assert.rejects(sshExec({ host: ip, user: "root", privateKey: key }, { command: "true", dialErrorLimit: 0 }), /authentication methods failed/);
        });

        it("lets real ssh in with StrictHostKeyChecking=yes and the exported knownHosts line, no prompt", async () => {
            const knownHosts = plainOutputs(first).knownHosts;
            assert.strictEqual(typeof knownHosts, "string", "no knownHosts output");
            assert.match(String(knownHosts), new RegExp(`^${ip.replace(/\./g, "\\.")} ssh-ed25519 [A-Za-z0-9+/]+=*$`));
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-e2e-ssh-"));
            try {
                fs.writeFileSync(path.join(dir, "id"), key, { mode: 0o600 });
                fs.writeFileSync(path.join(dir, "known_hosts"), `${String(knownHosts)}\n`);
                const out = await new Promise<string>((resolve, reject) =>
                    execFile(
                        "ssh",
                        [
                            "-i",
                            path.join(dir, "id"),
                            "-o",
                            "BatchMode=yes",
                            "-o",
                            "IdentitiesOnly=yes",
                            "-o",
                            "StrictHostKeyChecking=yes",
                            "-o",
                            `UserKnownHostsFile=${path.join(dir, "known_hosts")}`,
                            "-o",
                            "GlobalKnownHostsFile=/dev/null",
                            `dev@${ip}`,
                            "echo in",
                        ],
                        { timeout: 30_000 },
                        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
                    ),
                );
                assert.strictEqual(out, "in\n");
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("closes the metadata service to the user after harden, and keeps it open to root", async () => {
            const fetch = `curl -sS --max-time 5 -o /dev/null -w '%{http_code}' ${METADATA_USER_DATA_URL}`;
            const asUser = await sshExec({ host: ip, user: "dev", privateKey: key }, { command: `${fetch} 2>&1 || echo " exit $?"`, dialErrorLimit: 3 });
            // Refused at once (curl exit 7, "could not connect"), not left to time out (exit 28).
            assert.match(asUser.stdout, /^curl: \(7\) Failed to connect to 169\.254\.169\.254 port 80 after \d+ ms: .*\n000 exit 7\n$/);
            assert.strictEqual((await onHost(fetch)).trim(), "200");
        });

        it("lets the workstation user sudo", async () => {
            const res = await sshExec({ host: ip, user: "dev", privateKey: key }, { command: "id -un && sudo -n id -u", dialErrorLimit: 3 });
            assert.strictEqual(res.stdout, "dev\n0\n");
        });

        it("has each IDE's command installed, the Antigravity IDE under its new name and not the agent manager", async () => {
            const found = (await onHost('for b in code cursor antigravity-ide; do command -v "$b"; done')).trim().split("\n");
            assert.deepStrictEqual(
                found.map((p) => path.basename(p)),
                ["code", "cursor", "antigravity-ide"],
            );
            // The stand-in repository offers both, as Google's does since the rename.
            const offered = await onHost("apt-cache policy antigravity antigravity-ide | awk '$1 == \"Candidate:\" { print $2 }'");
            assert.deepStrictEqual(offered.trim().split("\n"), ["2.0.0-1", "1.20.0-1"]);
            assert.strictEqual((await onHost("dpkg-query -W -f='${db:Status-Abbrev}' antigravity 2>/dev/null || echo none")).trim(), "none");
        });

        it("keeps the apt sources the vendor postinsts rewrote, and apt-get update passes", async () => {
            // The stand-in code and cursor packages rewrite their source on install, as the
            // vendors' do; the IDE stage wrote the same file with the same Signed-By first.
            for (const [file, keyring, repo] of [
                ["vscode.sources", "/usr/share/keyrings/microsoft.gpg", "code"],
                ["cursor.sources", "/usr/share/keyrings/anysphere.gpg", "cursor"],
            ]) {
                const text = await onHost(`cat /etc/apt/sources.list.d/${file}`);
                assert.match(text, /^### THIS FILE IS AUTOMATICALLY CONFIGURED ###$/m, `${file} was not rewritten by the package's postinst:\n${text}`);
                assert.match(text, new RegExp(`^URIs: http://[0-9.]+:[0-9]+/${repo}$`, "m"));
                assert.match(text, new RegExp(`^Signed-By: ${keyring}$`, "m"));
            }
            const files = (await onHost("ls /etc/apt/sources.list.d/")).trim().split("\n");
            for (const f of ["vscode.sources", "cursor.sources", "antigravity.sources"]) assert.ok(files.includes(f), `${f} missing: ${files.join(" ")}`);
            assert.deepStrictEqual(
                files.filter((f) => /^(vscode|cursor|antigravity)\.list$/.test(f)),
                [],
            );
            const update = await aptUpdate();
            assert.match(update, /^rc=0$/m, update);
            // Every repository fetched: a warning (a source that failed) counts as a failure here.
            assert.doesNotMatch(update, /Conflicting values|^[EW]: /m, update);
        });

        it("has code's postinst honour debconf code/add-microsoft-repo as the real one does", async () => {
            const repo = await serveStandinFor(first.record.host!);
            try {
                const reinstall = (answer: string): Promise<string> =>
                    onHost(
                        [
                            `echo 'code code/add-microsoft-repo boolean ${answer}' | debconf-set-selections`,
                            "sed -i '1i # ws-e2e marker' /etc/apt/sources.list.d/vscode.sources",
                            "apt-get install --reinstall -y -q -o Dpkg::Use-Pty=0 code >/tmp/ws-e2e-reinstall.log 2>&1 || { cat /tmp/ws-e2e-reinstall.log; exit 1; }",
                            "grep -c 'ws-e2e marker' /etc/apt/sources.list.d/vscode.sources || true",
                        ].join("\n"),
                    );
                // false: the source is left alone (the marker stays); true: rewritten again.
                assert.strictEqual((await reinstall("false")).trim(), "1");
                assert.strictEqual((await reinstall("true")).trim(), "0");
            } finally {
                await repo.close();
            }
        });

        it("would catch a Signed-By conflict: the same repository under another file and keyring fails apt-get update", async () => {
            // What a stage writing its own file name and key path would leave next to the vendor's.
            const out = await onHost(
                [
                    "uri=$(sed -n 's/^URIs: //p' /etc/apt/sources.list.d/vscode.sources)",
                    "install -D -m 0644 /usr/share/keyrings/microsoft.gpg /etc/apt/keyrings/ws-e2e-vscode.gpg",
                    "printf 'Types: deb\\nURIs: %s\\nSuites: stable\\nComponents: main\\nSigned-By: /etc/apt/keyrings/ws-e2e-vscode.gpg\\n' \"$uri\" >/etc/apt/sources.list.d/ws-e2e-vscode.sources",
                    "rc=0; apt-get update >/tmp/ws-e2e-update.log 2>&1 || rc=$?",
                    "rm -f /etc/apt/sources.list.d/ws-e2e-vscode.sources /etc/apt/keyrings/ws-e2e-vscode.gpg",
                    'cat /tmp/ws-e2e-update.log; echo "rc=$rc"',
                ].join("\n"),
            );
            assert.match(out, /Conflicting values set for option Signed-By/, out);
            assert.match(out, /^rc=[1-9][0-9]*$/m, out);
        });

        it("samples resources into resources.csv and writes performance-report.json", async () => {
            const csv = (await onHost("cat /var/log/workstation/resources.csv")).trim().split("\n");
            assert.strictEqual(csv[0], "Timestamp,MemUsedMB,MemAvailMB,CPUPercent,DiskAvailMB,LoadAvg1m,ProcessCount");
            assert.ok(csv.length >= 2, "no sample after the header");
            const report = JSON.parse(await onHost("cat /var/log/workstation/performance-report.json")) as { resources?: { samples?: number } };
            assert.ok((report.resources?.samples ?? 0) >= 1, `report counts no samples: ${JSON.stringify(report.resources)}`);
        });

        it("exports a timing for every stage, a wall clock below the sequential sum, and verification results", () => {
            const outputs = plainOutputs(first);
            const timings = outputs.timings as {
                stages?: Record<string, unknown> | { stage: string }[];
                wallClockSeconds?: number;
                sequentialSeconds?: number;
            };
            assert.ok(timings, `no timings output: ${Object.keys(outputs).join(", ")}`);
            const stageNames = Array.isArray(timings.stages) ? timings.stages.map((s) => s.stage) : Object.keys(timings.stages ?? {});
            assert.deepStrictEqual(stageNames.sort(), [...ALL_STAGES].sort());
            assert.strictEqual(typeof timings.wallClockSeconds, "number");
            assert.strictEqual(typeof timings.sequentialSeconds, "number");
            assert.ok(
                timings.wallClockSeconds! < timings.sequentialSeconds!,
                `wall clock ${timings.wallClockSeconds} s is not below the sequential sum ${timings.sequentialSeconds} s`,
            );
            const verification = outputs.verification as {
                ok?: boolean;
                checks?: { name: string; ok: boolean }[];
                ides?: Record<string, { package: string; command: string }>;
            };
            assert.strictEqual(verification.ok, true, JSON.stringify(verification));
            assert.deepStrictEqual(verification.checks!.map((c) => c.name).sort(), ["ide-antigravity", "ide-cursor", "ide-vscode", "sudo", "xrdp"]);
            // Which candidate each IDE stage chose.
            const chosen = Object.fromEntries(Object.entries(verification.ides ?? {}).map(([ide, c]) => [ide, `${c.package}=${c.command}`]));
            assert.deepStrictEqual(chosen, { vscode: "code=code", cursor: "cursor=cursor", antigravity: "antigravity-ide=antigravity-ide" });
        });

        it("clones the dotfiles served from the runner's side and runs their install script as the user", async () => {
            const marker = (
                await onHost(`cat /home/dev/${STANDIN_MARKER}; stat -c %U /home/dev/${STANDIN_MARKER} /home/dev/.dotfiles/.git; readlink /home/dev/.inputrc`)
            )
                .trim()
                .split("\n");
            assert.deepStrictEqual(marker, ["installed by ./install.sh as dev in /home/dev/.dotfiles", "dev", "dev", "/home/dev/.dotfiles/.inputrc"]);
            const result = (
                stage(first, "dotfiles")
                    .stdout.split("\n")
                    .find((l) => l.startsWith("::workstation-result::")) ?? ""
            ).replace("::workstation-result::", "");
            assert.deepStrictEqual({ ...JSON.parse(result), head: "-" }, { head: "-", method: "install.sh", changed: true, failure: null });
            const alerts = plainOutputs(first).alerts as { kind: string }[];
            assert.ok(!alerts.some((a) => a.kind === "dotfiles"), JSON.stringify(alerts));
        });

        it("writes the timeline picture beside the run record and prints its path", () => {
            const page = path.join(state.dir, "timeline.html");
            assert.ok(first.output.includes(`Timeline picture: ${page}`), "the runner did not print the timeline's path");
            const html = fs.readFileSync(page, "utf8");
            for (const s of ALL_STAGES) assert.ok(html.includes(`class="bar`) && html.includes(`data-stage="${s}"`), `no bar for ${s}`);
            assert.match(html, /data-chart="memory"[\s\S]*<polyline class="series memory"/, "no memory samples drawn");
        });

        it("marks the password and private key outputs secret", () => {
            const outputs = decodeResolved(first.record.outputs) as Record<string, Resolved>;
            assert.ok(outputs.password instanceof SecretValue);
            assert.ok(outputs.privateKey instanceof SecretValue);
        });

        it("prints neither the private key nor the password", () => {
            assertNoSecrets(first.output, key, password);
        });
    });

    describe("the same host again, every trigger changed", () => {
        /** dpkg's log and apt's lists as they were before the re-run. */
        let aptStateBefore = "";
        const aptState = (): Promise<string> => onHost("wc -l </var/log/dpkg.log; stat -c '%n %Y' /var/lib/apt/lists/* | sort");
        before(async () => {
            aptStateBefore = await aptState();
            second = await provision(["--reuse", HOST, "--stack", "dev", "--standin-dotfiles"]);
        });

        it("runs every stage again and each finds its work done", () => {
            const run = second!;
            assert.strictEqual(run.code, 0, `runner exit ${run.code}: ${run.record.error ?? ""}`);
            assert.deepStrictEqual(run.record.stages.map((s) => s.stage).sort(), [...ALL_STAGES].sort());
            for (const s of run.record.stages) {
                assert.strictEqual(s.ok, true, `${s.stage}: ${s.error ?? ""}`);
                // verify is a check, not work: it checks again every time (status ok).
                if (s.stage === "verify") continue;
                assert.strictEqual(s.timing?.status, "skipped", `${s.stage} did work again: ${JSON.stringify(s.timing)}`);
            }
        });

        // How fast the re-run is lives in the bench (case rerun, tools/bench/thresholds.json), not in a
        // timed assertion on a noisy machine; here: it did no package work at all.
        it("touches neither dpkg nor apt's lists when nothing changed", async () => {
            assert.strictEqual(await aptState(), aptStateBefore);
        });

        it("leaves apt able to update: no Signed-By conflict after the re-run", async () => {
            const update = await aptUpdate();
            assert.match(update, /^rc=0$/m, update);
            // Every repository fetched: a warning (a source that failed) counts as a failure here.
            assert.doesNotMatch(update, /Conflicting values|^[EW]: /m, update);
        });

        it("prints neither the private key nor the password", () => {
            assertNoSecrets(second!.output, key, password);
        });
    });
});

function assertNoSecrets(output: string, key: string, password: string): void {
    assert.deepStrictEqual(secretsIn(output, key, password), []);
}
