// Faults injected into real test hosts during real runs of the unchanged program (issue 15):
// each fault's run must succeed or fail naming the stage and the step, and the next run
// (--reuse) must converge to a complete workstation with the user's home intact. Each
// outcome and its seconds to converge go to tests/faults/results.json (README table).
// Hosts are named wsflt-*; one host at a time, each stopped after its fault.
import * as assert from "assert";
import { HostState } from "../../tools/local/runnerState";
import { clearLeftoverHosts, stopHost } from "../../tools/local/testHost";
import { assertConverged, onHost, recordResult, runRunner, RunnerRun, SMALL_STACK, stopActiveRunner, writeMarker } from "./harness";

const PREFIX = "wsflt";

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
            faulted = await runRunner(name, ["--name", name, ...SMALL_STACK, "--set", `stageTimeouts={"ide-vscode":${limit}}`]);
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
});
