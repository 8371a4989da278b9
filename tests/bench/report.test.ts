import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { BenchResults, CaseRun, checkResultsShape, metricSamples, SCHEMA, span, summarizeMetrics } from "../../tools/bench/resultsShape";
import { markdownTable, p50p95, renderReport, stageTable } from "../../tools/bench/table";
import { evaluateThresholds, parseThresholds } from "../../tools/bench/threshold";
import { METRICS } from "../../tools/bench/resultsShape";
import { CASES, OPT_IN_CASES } from "../../tools/bench/args";

function run(run: number, totalSeconds: number, stages: Record<string, number>, extra: Partial<CaseRun> = {}): CaseRun {
    return { run, host: `bench-x${run}`, ok: true, totalSeconds, stages, ...extra };
}

function fixture(): BenchResults {
    const cases = {
        optimized: [
            run(1, 60, { "system-prep": 10, desktop: 30 }, { installSeconds: 50, memoryPeakMB: 500 }),
            run(2, 66, { "system-prep": 12, desktop: 33 }, { installSeconds: 55, memoryPeakMB: 520 }),
            run(3, 63, { "system-prep": 11, desktop: 31 }, { installSeconds: 52, memoryPeakMB: 510 }),
        ],
        naive: [
            run(1, 100, { "system-prep": 20, desktop: 60 }),
            run(2, 110, { "system-prep": 24, desktop: 66 }),
            run(3, 90, { "system-prep": 22, desktop: 50 }),
        ],
        floor: [run(1, 40, { install: 40 }), run(2, 44, { install: 44 }), { ...run(3, 0, {}), ok: false, error: "apt-get failed" }],
        rerun: [run(1, 5, { "system-prep": 0.5 }), run(2, 6, { "system-prep": 0.6 }), run(3, 7, { "system-prep": 0.7 })],
    };
    const samples = metricSamples(cases, { ed25519: [1, 2, 3], rsa4096: [700, 800, 900] });
    const thresholds = evaluateThresholds(parseThresholds({ "optimized/naive": "p50<=0.7", "rerun.seconds": "p50<=5" }, Object.keys(METRICS)), samples);
    return {
        schema: SCHEMA,
        startedAt: "2026-01-01T00:00:00.000Z",
        finishedAt: "2026-01-01T01:00:00.000Z",
        command: "npm run bench -- --runs 3",
        machine: { cpus: 2, memoryGiB: 24, kernel: "6.x", node: "v20" },
        options: { runs: 3, cases: ["optimized", "naive", "floor", "rerun", "key"], keyRuns: 3, stack: "dev" },
        percentileMethod: "nearest rank",
        memoryMethod: "pss",
        definitions: {},
        cases,
        metrics: summarizeMetrics(samples),
        key: { runs: 3, note: "node, not Go", budgetMs: 500, coldMs: { ed25519: 9, rsa4096: 1200 } },
        thresholds,
        ok: false,
    };
}

describe("bench results and report", () => {
    it("pairs ratios within a run and leaves failed runs out", () => {
        const s = metricSamples(fixture().cases);
        assert.deepStrictEqual(s["optimized/naive"], [0.6, 0.6, 0.7]);
        assert.deepStrictEqual(s["optimized/floor"], [1.5, 1.5]); // floor's run 3 failed
        assert.deepStrictEqual(s["floor.seconds"], [40, 44]);
        assert.deepStrictEqual(s["optimized.install/naive"], [0.5, 0.5, 52 / 90]);
        assert.deepStrictEqual(s["optimized.memory.mb"], [500, 520, 510]);
        assert.strictEqual(s["naive.memory.mb"], undefined, "no memory figure, no metric");
    });

    it("summarizes every metric with p50/p95 and refuses a metric it does not know", () => {
        const m = fixture().metrics;
        assert.deepStrictEqual(m["optimized/naive"], { unit: "ratio", samples: [0.6, 0.6, 0.7], n: 3, p50: 0.6, p95: 0.7, min: 0.6, max: 0.7, avg: 0.633 });
        assert.throws(() => summarizeMetrics({ "bogus.seconds": [1] }), /metric bogus.seconds is not in METRICS/);
    });

    it("measures a span from the first start to the last end of the named stages", () => {
        const stages = [
            { stage: "wait-ready", startedAt: 0, endedAt: 1000 },
            { stage: "system-prep", startedAt: 1000, endedAt: 5000 },
            { stage: "desktop", startedAt: 5000, endedAt: 20000 },
            { stage: "ide-vscode", startedAt: 5000, endedAt: 25000 },
        ];
        assert.strictEqual(span(stages, ["system-prep", "desktop", "ide-vscode"]), 24);
        assert.strictEqual(span(stages, ["report"]), undefined);
    });

    it("renders Markdown tables with escaped cells and right-aligned numbers", () => {
        assert.strictEqual(markdownTable(["a", "b|c"], [["x", "1"]]), "| a | b\\|c |\n| --- | ---: |\n| x | 1 |");
        assert.strictEqual(p50p95([3, 1, 2], 1), "2.0 / 3.0");
        assert.strictEqual(p50p95([], 1), "–");
    });

    it("renders one row per stage in stage order, the totals, and the paired optimized/naive ratio", () => {
        assert.strictEqual(
            stageTable(fixture()),
            [
                "| stage | optimized | naive | floor | re-run | optimized/naive (unshaped) |",
                "| --- | ---: | ---: | ---: | ---: | ---: |",
                "| system-prep | 11.0 / 12.0 | 22.0 / 24.0 | – | 0.6 / 0.7 | 0.50 / 0.50 |",
                "| desktop | 31.0 / 33.0 | 60.0 / 66.0 | – | – | 0.50 / 0.62 |",
                "| install (floor: one transaction) | – | – | 40.0 / 44.0 | – | – |",
                "| **total** | **63.0 / 66.0** | **100.0 / 110.0** | **40.0 / 44.0** | **6.0 / 7.0** | **0.60 / 0.70** |",
            ].join("\n"),
        );
    });

    it("reports ratios, memory, keys, thresholds and failed runs", () => {
        const text = renderReport(fixture());
        assert.match(text, /^\| optimized\/naive \| 0\.60 \| 0\.70 \| 3 \|$/m);
        assert.match(text, /^\| optimized\/floor \| 1\.50 \| 1\.50 \| 2 \|$/m);
        assert.match(text, /^\| optimized \| 510 \| 520 \| 3 \|$/m);
        assert.match(text, /^\| ED25519 \| 2\.00 \| 3\.00 \| 3 \| 9\.00 \|$/m);
        assert.match(text, /^\| RSA-4096 \| 800 \| 900 \| 3 \| 1200 \|$/m);
        assert.match(text, /^\| optimized\/naive \| p50<=0\.7 \| 0\.6 \| pass \|$/m);
        assert.match(text, /^\| rerun\.seconds \| p50<=5 \| 6 \| \*\*FAIL\*\* \|$/m);
        assert.match(text, /^- floor run 3 on bench-x3: apt-get failed$/m);
        assert.match(text, /Percentiles: nearest rank\.\n$/);
    });

    it("accepts a well-formed results file and names what is wrong with a bad one", () => {
        const good = JSON.parse(JSON.stringify(fixture())) as Record<string, unknown>;
        assert.deepStrictEqual(checkResultsShape(good), []);
        const bad = JSON.parse(JSON.stringify(fixture())) as {
            schema: string;
            cases: { naive: { totalSeconds: unknown }[] };
            metrics: Record<string, { p50: number; p95: number }>;
            thresholds: unknown[];
            ok?: unknown;
        };
        bad.schema = "other/1";
        bad.cases.naive[0].totalSeconds = "fast";
        bad.metrics["optimized/naive"].p50 = 9;
        bad.thresholds.push({ metric: "x" });
        delete bad.ok;
        assert.deepStrictEqual(checkResultsShape(bad), [
            `schema: expected ${SCHEMA}, got "other/1"`,
            "ok: not a boolean",
            "cases.naive[0].totalSeconds: not a number >= 0",
            "metrics.optimized/naive: p50 above p95",
            "thresholds[2]: needs metric, expression, status pass|fail|skipped",
        ]);
    });

    it("keeps the committed tools/bench/results.json in the documented shape, with every case of a full run", () => {
        const doc = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "tools", "bench", "results.json"), "utf8")) as BenchResults;
        assert.deepStrictEqual(checkResultsShape(doc), []);
        // A default run's cases (key has metrics, not a case of its own; fleet is opt-in).
        const fullRun = CASES.filter((c) => !OPT_IN_CASES.includes(c) && c !== "key");
        assert.deepStrictEqual(Object.keys(doc.cases).sort(), [...fullRun].sort());
        for (const m of [
            "optimized/naive",
            "optimized/floor",
            "optimized/limit",
            "rerun.seconds",
            "from-image/fresh",
            "key.ed25519.ms",
            "optimized.memory.mb",
        ]) {
            assert.strictEqual(doc.metrics[m]?.n, doc.metrics[m]?.samples.length, m);
        }
    });
});
