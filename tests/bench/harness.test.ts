import * as assert from "assert";
import { execFileSync } from "child_process";
import type { RunRecord } from "../../tools/local/programRun";
import { caseRunFromRecord, ideLines } from "../../tools/bench/cases";
import { caseOrder } from "../../tools/bench/index";
import { parseRecipeOutput, shellAssignments } from "../../tools/bench/target";

function stage(name: string, start: number, end: number, ok = true): RunRecord["stages"][number] {
    return { name: `ws-${name}`, stage: name, startedAt: start, endedAt: end, seconds: (end - start) / 1000, ok, stdout: "", stderr: "", dials: 1 };
}

describe("bench harness", () => {
    it("rotates the case order per run so that drift hits every case alike", () => {
        assert.deepStrictEqual([1, 2, 3, 4].map(caseOrder), [
            ["optimized", "naive", "floor"],
            ["naive", "floor", "optimized"],
            ["floor", "optimized", "naive"],
            ["optimized", "naive", "floor"],
        ]);
    });

    it("quotes recipe variables so that bash reads back exactly the value", () => {
        const value = 'it\'s "quoted" $HOME `x` \\ \n second line';
        const script = `${shellAssignments({ BENCH_X: value })}\nprintf '%s' "$BENCH_X"`;
        assert.strictEqual(execFileSync("bash", ["-c", script], { encoding: "utf8" }), value);
        assert.throws(() => shellAssignments({ "bad-name": "x" }), /not a shell variable name: bad-name/);
    });

    it("reads the recipes' timing lines and total, ignoring other output", () => {
        const out =
            'noise\n::bench-timing:: {"stage":"system-prep","seconds":12.5}\nmore\n::bench-timing:: {"stage":"desktop","seconds":30}\n::bench-total:: {"seconds":42.75}\n';
        assert.deepStrictEqual(parseRecipeOutput(out), {
            stages: [
                { stage: "system-prep", seconds: 12.5 },
                { stage: "desktop", seconds: 30 },
            ],
            total: 42.75,
        });
        assert.deepStrictEqual(parseRecipeOutput("nothing"), { stages: [], total: undefined });
    });

    it("writes one IDE per line with the fields the recipes read, refusing spaces", () => {
        const ide = {
            name: "vscode",
            package: "code",
            repoUrl: "http://10.213.41.1:8080/code",
            suite: "stable",
            components: "main",
            keyUrl: "http://10.213.41.1:8080/k.asc",
            keyring: "/usr/share/keyrings/microsoft.gpg",
        };
        assert.strictEqual(
            ideLines([ide]),
            "vscode code http://10.213.41.1:8080/code stable main http://10.213.41.1:8080/k.asc /usr/share/keyrings/microsoft.gpg",
        );
        assert.throws(() => ideLines([{ ...ide, components: "main contrib" }]), /IDE vscode: field "main contrib" is empty or has spaces/);
    });

    it("takes a runner record's total as the stages' wall clock and its install span from system-prep to the last install stage", () => {
        const rec = {
            ok: true,
            stack: "dev",
            hostName: "bench-o1",
            reuse: false,
            startedAt: 0,
            endedAt: 100_000,
            outputs: {},
            recorded: [],
            stages: [
                stage("wait-ready", 10_000, 12_000),
                stage("system-prep", 12_000, 30_000),
                stage("desktop", 30_000, 70_000),
                stage("ide-vscode", 30_000, 50_000),
                stage("monitor", 30_000, 32_000),
                stage("verify", 70_000, 72_000),
                stage("harden", 72_000, 80_000),
                stage("report", 80_000, 81_000),
            ],
        } as RunRecord;
        const r = caseRunFromRecord(1, "bench-o1", rec, 0);
        assert.strictEqual(r.ok, true);
        assert.strictEqual(r.totalSeconds, 71);
        assert.strictEqual(r.installSeconds, 68);
        assert.strictEqual(r.stages.desktop, 40);
        const failed = caseRunFromRecord(
            1,
            "bench-o1",
            { ...rec, ok: false, error: "desktop: apt failed\nmore", stages: [...rec.stages.slice(0, 2), stage("desktop", 30_000, 31_000, false)] },
            1,
        );
        assert.strictEqual(failed.ok, false);
        assert.strictEqual(failed.error, "runner exit 1, failed: desktop: desktop: apt failed");
    });
});
