// The figures issue 18 asks for (dpkg floor, download floor, limit = the larger, optimized
// over each, shaped and unshaped) and issues 14/13's from-image and restart figures, from
// case runs as the bench records them.
import * as assert from "assert";
import { readySeconds, sequentialTimings } from "../../tools/bench/cases";
import { CaseRun, checkResultsShape, limitSeconds, metricSamples } from "../../tools/bench/resultsShape";
import { caseColumns } from "../../tools/bench/table";
import { timelineFromOutputs } from "../../tools/timeline/model";

function r(run: number, totalSeconds: number, extra: Partial<CaseRun> = {}): CaseRun {
    return { run, host: `bench-x${run}`, ok: true, totalSeconds, stages: {}, ...extra };
}

const dl = (shaped: number, unshaped: number): CaseRun["downloads"] => [
    { link: "200mbit", seconds: shaped, files: 900, bytes: 700e6 },
    { link: "none", seconds: unshaped, files: 900, bytes: 700e6 },
];

describe("bench floors and limit", () => {
    it("takes the limit as the larger of the dpkg floor and the download floor", () => {
        assert.strictEqual(limitSeconds(50, 30), 50);
        assert.strictEqual(limitSeconds(50, 80), 80);
    });

    it("splits optimized and naive by link: today's names unshaped, shaped.* and optimized/limit over the shaped link", () => {
        const s = metricSamples({
            optimized: [r(1, 60, { link: "none" }), r(1, 90, { link: "200mbit" }), r(2, 66, { link: "none" }), r(2, 100, { link: "200mbit" })],
            naive: [r(1, 150, { link: "none" }), r(1, 300, { link: "200mbit" }), r(2, 165, { link: "none" }), r(2, 250, { link: "200mbit" })],
            // run 1: dpkg is the limit; run 2: the downloads are.
            floor: [r(1, 50, { downloads: dl(30, 4) }), r(2, 55, { downloads: dl(80, 5) })],
        });
        assert.deepStrictEqual(s["optimized.seconds"], [60, 66]);
        assert.deepStrictEqual(s["shaped.optimized.seconds"], [90, 100]);
        assert.deepStrictEqual(s["optimized/naive"], [0.4, 0.4]);
        assert.deepStrictEqual(s["shaped.optimized/naive"], [0.3, 0.4]);
        assert.deepStrictEqual(s["optimized/floor"], [60 / 50, 66 / 55], "unshaped optimized over the dpkg floor, as before");
        assert.deepStrictEqual(s["download.seconds"], [30, 80]);
        assert.deepStrictEqual(s["download.unshaped.seconds"], [4, 5]);
        assert.deepStrictEqual(s["limit.seconds"], [50, 80]);
        assert.deepStrictEqual(s["optimized/limit"], [90 / 50, 100 / 80], "shaped optimized over max(dpkg, download) of the same run");
    });

    it("has no shaped figures when only the unshaped link ran, and no limit without a shaped download", () => {
        const s = metricSamples({
            optimized: [r(1, 60, { link: "none" })],
            floor: [r(1, 50, { downloads: [{ link: "none", seconds: 4, files: 1, bytes: 1 }] })],
        });
        assert.deepStrictEqual(s["optimized/floor"], [1.2]);
        for (const m of ["shaped.optimized.seconds", "download.seconds", "limit.seconds", "optimized/limit"]) assert.strictEqual(s[m], undefined, m);
    });

    it("leaves failed runs out of the limit ratio", () => {
        const s = metricSamples({ optimized: [r(1, 90, { link: "200mbit" })], floor: [{ ...r(1, 0, { downloads: dl(30, 4) }), ok: false }] });
        assert.strictEqual(s["optimized/limit"], undefined);
    });
});

describe("bench from-image and restart figures", () => {
    it("compares from-image with the fresh workstation of its run over the same link, boot included", () => {
        const s = metricSamples({
            optimized: [
                r(1, 80, { link: "200mbit", readySeconds: 100 }),
                r(1, 60, { link: "none", readySeconds: 75 }),
                r(2, 85, { link: "200mbit", readySeconds: 110 }),
            ],
            "from-image": [r(1, 15, { link: "200mbit", readySeconds: 20 }), r(2, 16, { link: "200mbit", readySeconds: 33 })],
        });
        assert.deepStrictEqual(s["from-image.seconds"], [20, 33]);
        assert.deepStrictEqual(s["optimized.ready.seconds"], [100, 110]);
        assert.deepStrictEqual(s["from-image/fresh"], [0.2, 0.3]);
    });

    it("reports restart's stop and start seconds", () => {
        const s = metricSamples({ restart: [r(1, 95, { stopSeconds: 5, startSeconds: 90 }), { ...r(2, 0), ok: false }] });
        assert.deepStrictEqual(s["restart.stop.seconds"], [5]);
        assert.deepStrictEqual(s["restart.start.seconds"], [90]);
    });

    it("times ready from the program's start to the last stage's end", () => {
        const stage = (startedAt: number, endedAt: number) => ({ stage: "s", startedAt, endedAt, seconds: (endedAt - startedAt) / 1000, ok: true });
        assert.strictEqual(readySeconds({ startedAt: 1000, stages: [stage(9000, 20000), stage(9000, 41000)] }), 40);
        assert.strictEqual(readySeconds({ startedAt: 1000, stages: [] }), undefined);
    });

    it("accepts the new cases in a results document", () => {
        const doc = {
            schema: "workstation-bench/1",
            startedAt: "2026-01-01T00:00:00Z",
            finishedAt: "2026-01-01T00:00:00Z",
            command: "x",
            percentileMethod: "x",
            memoryMethod: "x",
            ok: true,
            options: { runs: 1, cases: ["from-image", "restart"], keyRuns: 1 },
            cases: { "from-image": [r(1, 10)], restart: [r(1, 90)] },
            metrics: {},
            thresholds: [],
        };
        assert.deepStrictEqual(checkResultsShape(doc), []);
    });

    it("splits a case's report column by link only when it ran over more than one", () => {
        const cols = caseColumns({ cases: { optimized: [r(1, 60, { link: "none" }), r(1, 90, { link: "200mbit" })], floor: [r(1, 50)] } } as never);
        assert.deepStrictEqual(
            cols.map((c) => [c.label, c.runs.map((x) => x.totalSeconds)]),
            [
                ["optimized (unshaped)", [60]],
                ["optimized (200mbit)", [90]],
                ["floor", [50]],
            ],
        );
        const failedUnshaped = caseColumns({ cases: { optimized: [{ ...r(1, 0, { link: "none" }), ok: false }, r(1, 90, { link: "200mbit" })] } } as never);
        assert.deepStrictEqual(
            failedUnshaped.map((c) => [c.label, c.runs.length]),
            [
                ["optimized (unshaped)", 0],
                ["optimized (200mbit)", 1],
            ],
            "the shaped column is not passed off as the only one",
        );
    });
});

describe("bench timelines of the script cases", () => {
    it("lays naive's stages one after another from its own stage timings", () => {
        const t = timelineFromOutputs(
            sequentialTimings(
                [
                    { stage: "system-prep", seconds: 10 },
                    { stage: "desktop", seconds: 50 },
                ],
                1000,
            ),
            "naive",
        );
        assert.deepStrictEqual(
            t.stages.map((s) => [s.name, s.start, s.end]),
            [
                ["system-prep", 1000, 1010],
                ["desktop", 1010, 1060],
            ],
        );
        assert.strictEqual(t.wallClockSeconds, 60);
        assert.deepStrictEqual(t.criticalPath, ["system-prep", "desktop"]);
    });
});

describe("bench host names and indexes", () => {
    it("gives every host of every run and link a name testhost.sh accepts and an index of its own", async () => {
        const { caseHostName } = await import("../../tools/bench/cases");
        const { hostIndex } = await import("../../tools/bench/index");
        const { parseLink } = await import("../../tools/bench/link");
        const names = [1, 20].flatMap((run) =>
            ["o", "n", "i"].flatMap((l) => [caseHostName(l, run, parseLink("200mbit")), caseHostName(l, run, { kind: "none" })]),
        );
        assert.ok(names.includes("bench-o20s") && names.includes("bench-n1"));
        for (const n of names) assert.match(n, /^[a-z0-9][a-z0-9-]{0,9}$/, n);
        const indexes = Array.from({ length: 20 }, (_, i) => [0, 1, 2].map((slot) => hostIndex(i + 1, slot))).flat();
        assert.strictEqual(new Set(indexes).size, indexes.length);
        assert.ok(Math.min(...indexes) > 40 && Math.max(...indexes) <= 254, "above the warm-up's 40, within testhost.sh's 0..254");
    });
});
