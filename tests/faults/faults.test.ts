// Faults injected into real test hosts during real runs of the unchanged program (issue 15):
// each fault's run must succeed or fail naming the stage and the step, and the next run
// (--reuse) must converge to a complete workstation with the user's home intact. Each
// outcome and its seconds to converge go to tests/faults/results.json (README table).
// Hosts are named wsflt-*; one host at a time, each stopped after its fault.
import * as assert from "assert";
import { execFileSync } from "child_process";
import { HostState } from "../../local/runnerState";
import { sshExec } from "../../local/sshExec";
import { clearLeftoverHosts, stopHost } from "../../local/testHost";
import { assertConverged, inContainer, onHost, recordResult, runRunner, RunnerRun, SMALL_STACK, stopActiveRunner, whenHostUp, writeMarker } from "./harness";

const PREFIX = "wsflt";

/**
 * An unattended-upgrades stand-in: holds dpkg's two locks (fcntl write locks, as dpkg and
 * apt take them) for SECONDS, with the host's perl (perl-base is always there). struct
 * flock on x86-64: short type, short whence, 4 bytes padding, off_t start, off_t len, pid_t pid.
 */
function holdDpkgLock(seconds: number): string {
    return `exec perl -MFcntl -e '
for my $f ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock") {
    open(my $h, ">>", $f) or die "open $f: $!";
    my $lock = pack("s s x4 q q i x4", F_WRLCK, 0, 0, 0, 0);  # fcntl writes back: a variable
    fcntl($h, F_SETLK, $lock) or die "lock $f: $!";
    push @h, $h;
}
print "holding the dpkg lock for ${seconds} s\n";
sleep ${seconds};'`;
}

describe("faults on a local test host", function () {
    this.timeout(20 * 60 * 1000);

    before(async () => {
        // A suite killed before its `after` leaves wsflt-* hosts; nothing else uses the prefix.
        const left = await clearLeftoverHosts((name) => name.startsWith(`${PREFIX}-`));
        for (const name of left) new HostState(name).remove();
    });

    describe("9: a stage hanging past its limit (small stack: ides [vscode], no desktop)", () => {
        const name = `${PREFIX}-9`;
        const limit = 2;
        let faulted: RunnerRun;
        after(async () => {
            stopActiveRunner();
            await stopHost(name);
            new HostState(name).remove();
        });

        it("stops the stage on the host at its limit, says so, and the next run converges", async () => {
            // stageTimeouts is the product's own config key: 2 s is far below what installing
            // the IDE takes, so the stage is still working (apt, dpkg) when its limit strikes.
            faulted = await runRunner(name, ["--name", name, ...SMALL_STACK, "--config", `stageTimeouts={"ide-vscode":${limit}}`]);
            assert.notStrictEqual(faulted.code, 0, "the run succeeded although its IDE stage had 2 s");
            const ide = faulted.record.stages.find((s) => s.stage === "ide-vscode");
            assert.ok(ide, `ide-vscode did not run: ${faulted.record.stages.map((s) => s.stage).join(", ")}`);
            assert.strictEqual(ide.ok, false);
            const text = `${ide.error ?? ""}\n${ide.stderr}\n${faulted.output}`;
            assert.match(text, new RegExp(`stage ide-vscode ran past its limit of ${limit} s and was stopped on the host`));
            // Stopped on the host: nothing of the stage's session is left running there.
            const ip = faulted.record.host!.ip;
            const left = await onHost(name, ip, "pgrep -a -f 'apt-get|dpkg|ide-vscode' | grep -v pgrep || true");
            assert.strictEqual(left.trim(), "", `the stopped stage left processes on the host:\n${left}`);
            // The stages that do not depend on it finished.
            for (const s of ["wait-ready", "system-prep", "monitor"]) {
                assert.strictEqual(faulted.record.stages.find((x) => x.stage === s)?.ok, true, `${s} did not finish`);
            }
            await writeMarker(name, ip, "fault 9 marker");
            const next = await runRunner(name, ["--reuse", name, ...SMALL_STACK]);
            await assertConverged(name, next, "fault 9 marker");
            recordResult({
                fault: "9-stage-past-limit",
                stack: "dev, ides [vscode], desktop off, stageTimeouts ide-vscode 2 s",
                outcome: `failed: ${ide.error?.split("\n").find((l) => /past its limit/.test(l))?.trim() ?? "stage ide-vscode ran past its limit"}; next run converged`,
                secondsToConverge: Math.round(faulted.seconds + next.seconds),
                faultedRunSeconds: Math.round(faulted.seconds),
                convergingRunSeconds: Math.round(next.seconds),
                at: new Date().toISOString(),
            });
        });
    });

    describe("1: the dpkg lock held for 90 s after boot by an unattended-upgrades stand-in (small stack)", () => {
        const name = `${PREFIX}-1`;
        const held = 90;
        after(async () => {
            stopActiveRunner();
            await stopHost(name);
            new HostState(name).remove();
        });

        it("has the stages wait for the lock and succeed", async () => {
            const running = runRunner(name, ["--name", name, ...SMALL_STACK]);
            const host = await whenHostUp(name, running);
            const holder = inContainer(host, holdDpkgLock(held));
            const heldFrom = Date.now();
            const run = await running;
            // The holder gave the lock up by itself, not because the run ended.
            assert.strictEqual(await holder.exit, 0, "the lock holder failed to take or keep the dpkg lock");
            const prep = run.record.stages.find((s) => s.stage === "system-prep");
            assert.ok(prep, "system-prep did not run");
            const waited = /dpkg free after ([\d.]+) s/.exec(`${prep.stdout}\n${prep.stderr}`);
            assert.ok(waited, `system-prep never waited for the dpkg lock:\n${prep.stdout.slice(-2000)}`);
            assert.ok(Number(waited[1]) >= held - (prep.startedAt - heldFrom) / 1000 - 5, `system-prep waited only ${waited[1]} s`);
            await writeMarker(name, run.record.host!.ip, "fault 1 marker");
            const next = await runRunner(name, ["--reuse", name, ...SMALL_STACK]);
            await assertConverged(name, run, "fault 1 marker");
            await assertConverged(name, next, "fault 1 marker");
            recordResult({
                fault: "1-dpkg-lock-held-90s",
                stack: "dev, ides [vscode], desktop off",
                outcome: `succeeded: system-prep waited ${Number(waited[1]).toFixed(0)} s for the lock; the next run found everything done`,
                // It converged in the faulted run itself; the next run only confirms it.
                secondsToConverge: Math.round(run.seconds),
                faultedRunSeconds: Math.round(run.seconds),
                convergingRunSeconds: Math.round(next.seconds),
                at: new Date().toISOString(),
            });
        });
    });

    describe("8: fail2ban bans an address after repeated failed logins, seen from outside the host (small stack)", () => {
        const name = `${PREFIX}-8`;
        after(async () => {
            stopActiveRunner();
            await stopHost(name);
            new HostState(name).remove();
        });

        /** The host's nftables ruleset, read from this machine in the host's network namespace. */
        const ruleset = () => execFileSync("nsenter", [`--net=/run/netns/wsth-${name}`, "nft", "list", "ruleset"], { encoding: "utf8" });
        const banned = (ip: string) => new RegExp(`table inet f2b-table[\\s\\S]*elements = \\{[^}]*\\b${ip.replace(/\./g, "\\.")}\\b`).test(ruleset());

        it("bans the gateway after refused logins in nftables, refuses its SSH, and lets it in after an unban", async () => {
            const run = await runRunner(name, ["--name", name, ...SMALL_STACK]);
            assert.strictEqual(run.code, 0, `runner exit ${run.code}: ${run.record.error ?? ""}`);
            const host = run.record.host!;
            const key = new HostState(name).readSecrets().keys["ws-key"].privateKeyOpenssh;
            await writeMarker(name, host.ip, "fault 8 marker");
            assert.strictEqual(banned(host.gatewayIp), false, "the gateway is banned before any failed login");
            const started = Date.now();
            // root may not log in after harden: each attempt is a refused login in sshd's journal.
            for (let i = 0; i < 6 && !banned(host.gatewayIp); i++) {
                await assert.rejects(sshExec({ host: host.ip, user: "root", privateKey: key }, { command: "true", dialErrorLimit: 0 }));
            }
            while (!banned(host.gatewayIp) && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 500));
            assert.ok(banned(host.gatewayIp), `no ban of ${host.gatewayIp} in the host's nftables after 60 s:\n${ruleset()}`);
            const banSeconds = (Date.now() - started) / 1000;
            // Banned: even the user's good key gets no SSH connection.
            await assert.rejects(sshExec({ host: host.ip, user: "dev", privateKey: key }, { command: "true", dialErrorLimit: 0, perDialTimeout: 10 }));
            const unban = inContainer(host, `fail2ban-client set sshd unbanip ${host.gatewayIp}`);
            assert.strictEqual(await unban.exit, 0, "fail2ban-client unbanip failed");
            assert.strictEqual(banned(host.gatewayIp), false, "still banned after the unban");
            const next = await runRunner(name, ["--reuse", name, ...SMALL_STACK]);
            await assertConverged(name, next, "fault 8 marker");
            recordResult({
                fault: "8-fail2ban-ban",
                stack: "dev, ides [vscode], desktop off",
                outcome: `banned ${host.gatewayIp} in nftables (f2b-table) ${banSeconds.toFixed(0)} s after the first refused login; SSH refused while banned; after unbanip the next run converged`,
                secondsToConverge: Math.round(next.seconds),
                faultedRunSeconds: Math.round(run.seconds),
                convergingRunSeconds: Math.round(next.seconds),
                at: new Date().toISOString(),
            });
        });
    });

    describe("3: sshd answering 60 s after the host boots (small stack)", () => {
        const name = `${PREFIX}-3`;
        const late = 60;
        after(async () => {
            stopActiveRunner();
            await stopHost(name);
            new HostState(name).remove();
        });

        it("has wait-ready's dial retries carry the run to success", async () => {
            const running = runRunner(name, ["--name", name, ...SMALL_STACK]);
            const host = await whenHostUp(name, running);
            // The moment the host is up, sshd goes away (and takes no new connections) for 60 s.
            const outage = inContainer(host, `systemctl stop ssh.socket ssh.service 2>/dev/null; sleep ${late}; systemctl start ssh.service`);
            const run = await running;
            assert.strictEqual(await outage.exit, 0, "the sshd outage did not run as planned");
            assert.strictEqual(run.code, 0, `runner exit ${run.code}: ${run.record.error ?? ""}`);
            const waitReady = run.record.stages.find((s) => s.stage === "wait-ready");
            assert.ok(waitReady && waitReady.ok, "wait-ready did not succeed");
            // It really dialed through the outage: it took most of the 60 s.
            assert.ok(waitReady.seconds >= late - 20, `wait-ready took ${waitReady.seconds.toFixed(0)} s: the outage missed it`);
            await writeMarker(name, run.record.host!.ip, "fault 3 marker");
            const next = await runRunner(name, ["--reuse", name, ...SMALL_STACK]);
            await assertConverged(name, run, "fault 3 marker");
            await assertConverged(name, next, "fault 3 marker");
            recordResult({
                fault: "3-sshd-late-60s",
                stack: "dev, ides [vscode], desktop off",
                outcome: `succeeded: wait-ready dialed for ${waitReady.seconds.toFixed(0)} s until sshd answered; the next run found everything done`,
                secondsToConverge: Math.round(run.seconds),
                faultedRunSeconds: Math.round(run.seconds),
                convergingRunSeconds: Math.round(next.seconds),
                at: new Date().toISOString(),
            });
        });
    });
});
