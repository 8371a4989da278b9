// A stage's command (components/stageCommand.ts) run locally as the host would run it:
// the user's shell runs it, a fake sudo drops to the same user, the stage script comes on
// stdin. pulumi-command does not stop a running script, so this bound is the only one.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stageCommand } from "../../components/stageCommand";
import { assemble, csvRows, fakeCommand, lastTiming, tempDir } from "./helpers";

/** Live (not zombie) processes whose command line contains `marker`. */
function running(marker: string): string[] {
    const found: string[] = [];
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        try {
            const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
            const state = fs
                .readFileSync(`/proc/${pid}/stat`, "utf8")
                .replace(/^.*\) /, "")
                .charAt(0);
            if (cmdline.includes(marker) && state !== "Z") found.push(`${pid} ${cmdline}`);
        } catch {
            // gone meanwhile
        }
    }
    return found;
}

function runStage(command: string, script: string, fakes: string): { code: number; stdout: string; stderr: string; seconds: number } {
    const t0 = Date.now();
    const res = spawnSync("sh", ["-c", command], {
        input: script,
        encoding: "utf8",
        timeout: 60_000,
        env: { PATH: `${fakes}:${process.env.PATH ?? "/usr/bin:/bin"}`, HOME: os.tmpdir() },
    });
    if (res.error) throw res.error;
    return { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr, seconds: (Date.now() - t0) / 1000 };
}

describe("stage time limit on the host (stage-bound.sh)", function () {
    this.timeout(60_000);
    let fakes: string;
    let logDir: string;
    // A unique sleep length marks this run's processes.
    const marker = `86400.${crypto.randomInt(100000, 999999)}`;

    beforeEach(() => {
        fakes = tempDir("bound-fakes");
        logDir = tempDir("bound-log");
        // sudo -n as the same user: the bound itself needs no root to be tested.
        fakeCommand(fakes, "sudo", '[[ "$1" == -n ]] || { echo "sudo: expected -n" >&2; exit 1; }\nshift\nexec "$@"');
    });

    afterEach(() => {
        for (const line of running(marker)) process.kill(Number(line.split(" ")[0]), "SIGKILL");
        fs.rmSync(fakes, { recursive: true, force: true });
        fs.rmSync(logDir, { recursive: true, force: true });
    });

    it("stops a stage that outlives its limit, with its children, and names the stage and the seconds", () => {
        const body = [
            "hang() {",
            // A child that ignores SIGTERM, and one that does not, both left in the background,
            `  ( trap '' TERM; exec sleep ${marker} ) &`,
            `  sleep ${marker} &`,
            // and the step itself waiting on a third.
            `  sleep ${marker}`,
            "}",
            "ws_main ws_step install hang",
        ].join("\n");
        const res = runStage(stageCommand("desktop", 2, 2), assemble({ WS_STAGE: "desktop", WS_LOG_DIR: logDir }, body), fakes);

        assert.equal(res.code, 124, res.stderr);
        assert.match(res.stderr, /^\[desktop\] FAILED: stage desktop ran past its limit of 2 s and was stopped on the host, with every process it started$/m);
        assert.match(res.stderr, /^\[desktop\] stopped by SIGTERM after \d+\.\d{3} s$/m, "the lib records the stop");
        // The limit, then at most the grace for the child that ignores SIGTERM.
        assert.ok(res.seconds >= 2 && res.seconds < 7, `took ${res.seconds} s`);
        assert.deepEqual(running(marker), [], "processes of the stopped stage are still running");
        const rows = csvRows(path.join(logDir, "timing.csv"));
        assert.deepEqual(rows[rows.length - 1]!.slice(1, 2).concat(rows[rows.length - 1]!.slice(3)), ["desktop", "failed"]);
        assert.doesNotMatch(res.stdout, /::workstation-timing::/, "a stopped stage prints no timing record");
    });

    it("passes a stage that ends in time through: its output and exit code, without waiting for the limit", () => {
        const ok = runStage(stageCommand("monitor", 30), assemble({ WS_STAGE: "monitor", WS_LOG_DIR: logDir }, "ws_main ws_step quick true"), fakes);
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal(lastTiming(ok.stdout).stage, "monitor");
        assert.ok(ok.seconds < 5, `took ${ok.seconds} s`);

        const failed = runStage(stageCommand("monitor", 30), assemble({ WS_STAGE: "monitor", WS_LOG_DIR: logDir }, "ws_main ws_step broken false"), fakes);
        assert.equal(failed.code, 1);
        assert.match(failed.stderr, /^\[monitor\] FAILED: stage monitor, step broken, exit code 1$/m);
        assert.doesNotMatch(failed.stderr, /ran past its limit/);
    });

    it("refuses a limit that is not a whole number of seconds", () => {
        assert.throws(() => stageCommand("desktop", 0), /stage desktop: limitSeconds 0 is not allowed: a whole number of seconds, 1 or more/);
        assert.throws(() => stageCommand("desktop", 1.5), /limitSeconds 1.5 is not allowed/);
    });
});
