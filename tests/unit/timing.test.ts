import * as assert from "assert";
import { StageGraph, stageGraph, topologicalOrder } from "../../components/stages";
import { StageTiming, criticalPath, parseTimingRecord, regressionAgainst, stageAlerts, summarize } from "../../components/timing";

function t(stage: string, start: number, end: number): StageTiming {
    return { stage, start, end, seconds: end - start, status: "ok", steps: [] };
}

describe("timing records", () => {
    it("reads the last marked line of a stage's output", () => {
        const out =
            'progress\n::workstation-timing:: {"stage":"old"}\nmore\n' +
            '::workstation-timing:: {"stage":"desktop","start":1,"end":3.5,"seconds":2.5,"status":"skipped","steps":[]}\n';
        const record = parseTimingRecord("desktop", out);
        assert.strictEqual(record.seconds, 2.5);
        assert.strictEqual(record.status, "skipped");
    });

    it("names the stage when its output has no timing record", () => {
        assert.throws(
            () => parseTimingRecord("ide-cursor", "installed cursor\n"),
            /^Error: stage ide-cursor: its output has no timing record \(a line starting with ::workstation-timing::\)/,
        );
    });

    it("refuses a record for another stage or with missing numbers", () => {
        assert.throws(
            () => parseTimingRecord("verify", '::workstation-timing:: {"stage":"harden","start":1,"end":2,"seconds":1,"status":"ok","steps":[]}'),
            /stage verify: malformed timing record \(stage is "harden", expected "verify"\)/,
        );
        assert.throws(
            () => parseTimingRecord("verify", '::workstation-timing:: {"stage":"verify","status":"ok","steps":[]}'),
            /start is not a number; end is not a number; seconds is not a number/,
        );
        assert.throws(() => parseTimingRecord("verify", "::workstation-timing:: {oops"), /stage verify: its timing record is not JSON/);
    });

    it("reads the optional dpkg lock wait and carries it into the summary, and refuses a negative one", () => {
        const line = (extra: string) => `::workstation-timing:: {"stage":"desktop","start":10,"end":20,"seconds":10,"status":"ok","steps":[]${extra}}`;
        const withWait = parseTimingRecord("desktop", line(',"lockWaitSeconds":4.25'));
        assert.strictEqual(withWait.lockWaitSeconds, 4.25);
        const without = parseTimingRecord("desktop", line(""));
        assert.strictEqual(without.lockWaitSeconds, undefined);
        const s = summarize([withWait, { ...without, stage: "monitor" }], stageGraph([], true));
        assert.deepStrictEqual(s.stages.desktop, { seconds: 10, status: "ok", start: 10, end: 20, lockWaitSeconds: 4.25 });
        assert.deepStrictEqual(s.stages.monitor, { seconds: 10, status: "ok", start: 10, end: 20 });
        assert.throws(
            () => parseTimingRecord("desktop", line(',"lockWaitSeconds":-1')),
            /stage desktop: malformed timing record \(lockWaitSeconds is not a number of seconds\)/,
        );
    });
});

describe("the timing model", () => {
    const graph = stageGraph(["vscode", "cursor"], true);
    const timings = [
        t("wait-ready", 0, 10),
        t("system-prep", 10, 40),
        t("desktop", 40, 100),
        t("ide-vscode", 40, 70),
        t("ide-cursor", 41, 120),
        t("monitor", 40, 41),
        t("verify", 120, 125),
        t("harden", 125, 130),
        t("report", 130, 140),
    ];

    it("orders stages after their dependencies and refuses cycles", () => {
        const order = topologicalOrder(graph);
        assert.ok(order.indexOf("system-prep") < order.indexOf("ide-cursor"));
        assert.ok(order.indexOf("ide-cursor") < order.indexOf("verify"));
        const cyclic: StageGraph = { verify: ["harden"], harden: ["verify"] };
        assert.throws(() => topologicalOrder(cyclic), /cycle: verify → harden → verify/);
    });

    it("computes wall clock, the sequential sum and the savings", () => {
        const s = summarize(timings, graph);
        assert.strictEqual(s.wallClockSeconds, 140);
        assert.strictEqual(s.sequentialSeconds, 10 + 30 + 60 + 30 + 79 + 1 + 5 + 5 + 10);
        assert.strictEqual(s.parallelSavingsSeconds, 230 - 140);
        assert.strictEqual(s.parallelSavingsPercent, 39.13);
    });

    it("follows the slowest branch for the critical path", () => {
        const s = summarize(timings, graph);
        assert.deepStrictEqual(s.criticalPath.stages, ["wait-ready", "system-prep", "ide-cursor", "verify", "harden", "report"]);
        assert.strictEqual(s.criticalPath.seconds, 10 + 30 + 79 + 5 + 5 + 10);
    });

    it("computes a critical path from estimates alone", () => {
        const path = criticalPath(graph, { "wait-ready": 1, "system-prep": 1, desktop: 5, "ide-vscode": 9, verify: 1 });
        assert.deepStrictEqual(path, { stages: ["wait-ready", "system-prep", "ide-vscode", "verify", "harden", "report"], seconds: 12 });
    });

    it("warns over 150 % of the estimate and is critical over 200 %", () => {
        const alerts = stageAlerts([t("desktop", 0, 160), t("ide-vscode", 0, 250), t("monitor", 0, 150), t("harden", 0, 201)], {
            desktop: 100,
            "ide-vscode": 100,
            monitor: 100,
            harden: 100,
        });
        assert.deepStrictEqual(
            alerts.map((a) => [a.stage, a.level]),
            [
                ["desktop", "warning"],
                ["ide-vscode", "critical"],
                ["harden", "critical"],
            ],
        );
        assert.strictEqual(alerts[0].message, "desktop took 160 s, 160 % of its 100 s estimate");
    });

    it("calls more than 20 % slower than the baseline a regression", () => {
        const r = regressionAgainst([t("desktop", 0, 121), t("ide-vscode", 0, 60), t("report", 0, 5)], { desktop: 100, "ide-vscode": 50 });
        assert.strictEqual(r.verdict, "regressed");
        assert.deepStrictEqual(
            r.stages.map((s) => [s.stage, s.regressed, s.changePercent]),
            [
                ["desktop", true, 21],
                ["ide-vscode", false, 20],
            ],
        );
        assert.strictEqual(r.message, "slower than baseline by more than 20 %: desktop (+21 %)");
    });

    it("says so when there is no baseline", () => {
        assert.strictEqual(regressionAgainst(timings, {}).verdict, "no-baseline");
        assert.strictEqual(regressionAgainst([t("desktop", 0, 100)], { desktop: 100 }).verdict, "ok");
    });
});
