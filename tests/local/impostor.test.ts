// The real program through the local runner's engine against a host that answers with
// a key other than the one the program pinned: the first stage is refused before any
// command runs, with an error naming the stage and both fingerprints, and no other stage
// starts. Needs root (boots a host; run it under the test-host lock).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

interface ImpostorRun {
    ok: boolean;
    error?: string;
    execs: string[];
    stages: { name: string; ok: boolean; error?: string; dials: number }[];
    pinnedFingerprint: string;
    impostorFingerprint: string;
    hostIp: string;
    logDir: string;
}

(isRoot ? describe : describe.skip)("the program against a host with another host key (root, boots a host)", function () {
    this.timeout(600_000);
    let run: ImpostorRun;

    before(() => {
        const res = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "fixtures", "runImpostor.ts")], {
            cwd: path.resolve(__dirname, "..", ".."),
            encoding: "utf8",
            timeout: 540_000,
        });
        const line = res.stdout.trim().split("\n").pop() ?? "";
        assert.strictEqual(res.status, 0, `runImpostor exited ${res.status}:\n${res.stdout}\n${res.stderr}`);
        run = JSON.parse(line) as ImpostorRun;
    });

    it("fails the run at wait-ready, on the host key, and starts no other stage", () => {
        assert.strictEqual(run.ok, false);
        assert.deepStrictEqual(run.execs, ["ws-wait-ready"]);
        assert.deepStrictEqual(
            run.stages.map((s) => [s.name, s.ok]),
            [["ws-wait-ready", false]],
        );
        assert.strictEqual(run.stages[0].dials, 0, "no session was had");
    });

    it("names the stage, the expected and the presented fingerprints", () => {
        assert.notStrictEqual(run.pinnedFingerprint, run.impostorFingerprint);
        assert.strictEqual(
            run.stages[0].error,
            `host key mismatch: ws-wait-ready: dev@${run.hostIp}:22 presented ${run.impostorFingerprint}, expected ${run.pinnedFingerprint} (connection.hostKey); refused before authentication, no command ran`,
        );
    });

    it("ran nothing on the host: no stage ever wrote its log directory", () => {
        assert.strictEqual(run.logDir, "absent");
    });
});
