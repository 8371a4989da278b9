import * as assert from "assert";
import { WALL_CLOCK_ROW, fleetPercentiles, formatPercentileTable, formatTimingTable, parseTimings, percentile } from "../../tools/deploy/timingReport";
import { timingsOutput } from "./fakes";

describe("nearest-rank percentiles", () => {
    // Method: sort ascending, take the value at 1-based rank ceil(p/100 × n).
    it("picks observed values by rank ceil(p/100 × n)", () => {
        const twenty = [13, 7, 20, 1, 16, 4, 10, 19, 2, 11, 17, 5, 8, 14, 3, 18, 6, 12, 9, 15]; // 1..20 shuffled
        assert.strictEqual(percentile(twenty, 50), 10); // rank 10
        assert.strictEqual(percentile(twenty, 95), 19); // rank 19
        assert.strictEqual(percentile(twenty, 99), 20); // rank ceil(19.8) = 20
        assert.strictEqual(percentile([1, 2, 3, 4], 50), 2); // interpolation would say 2.5
        assert.strictEqual(percentile([42], 99), 42);
    });

    it("refuses no values and a p outside (0, 100]", () => {
        assert.throws(() => percentile([], 50), /percentile of no values/);
        assert.throws(() => percentile([1], 0), /percentile must be in \(0, 100\], got 0/);
    });

    it("summarizes every stage across the fleet, with the wall clock last", () => {
        const reports = [
            parseTimings(timingsOutput({ "system-prep": 100, desktop: 50 }, 300)),
            parseTimings(timingsOutput({ "system-prep": 120, desktop: 40 }, 320)),
            parseTimings(timingsOutput({ "system-prep": 90, desktop: 70 }, 280)),
            parseTimings(timingsOutput({ "system-prep": 300 }, 900)),
        ];
        assert.deepStrictEqual(fleetPercentiles(reports), [
            { stage: "system-prep", count: 4, p50: 100, p95: 300, p99: 300 },
            { stage: "desktop", count: 3, p50: 50, p95: 70, p99: 70 },
            { stage: WALL_CLOCK_ROW, count: 4, p50: 300, p95: 900, p99: 900 },
        ]);
        assert.strictEqual(
            formatPercentileTable(fleetPercentiles(reports.slice(0, 1))),
            [
                "stage         n  p50 s  p95 s  p99 s",
                "------------  -  -----  -----  -----",
                "system-prep   1  100.0  100.0  100.0",
                "desktop       1   50.0   50.0   50.0",
                "(wall clock)  1  300.0  300.0  300.0",
            ].join("\n"),
        );
    });
});

describe("reading the timings output", () => {
    it("reads the TimingSummary shape into a stage table with wall clock and critical path", () => {
        const report = parseTimings({
            stages: { "wait-ready": { seconds: 42.04, status: "ok" }, desktop: { seconds: 61.5, status: "skipped" } },
            wallClockSeconds: 103.5,
            sequentialSeconds: 103.54,
            parallelSavingsSeconds: 0,
            criticalPath: { stages: ["wait-ready", "desktop"], seconds: 103.54 },
        });
        assert.deepStrictEqual(report.notes, []);
        assert.strictEqual(
            formatTimingTable(report),
            [
                "stage       seconds   status",
                "----------  -------  -------",
                "wait-ready     42.0       ok",
                "desktop        61.5  skipped",
                "",
                "wall clock:      103.5 s",
                "sequential sum:  103.5 s",
                "parallel saving: 0.0 s",
                "critical path:   wait-ready → desktop (103.5 s)",
            ].join("\n"),
        );
    });

    it("reads the same from the JSON string the CLI may hand over", () => {
        const summary = {
            stages: { verify: { seconds: 3, status: "ok" }, harden: { seconds: 4, status: "ok" } },
            wallClockSeconds: 7,
            criticalPath: { stages: ["verify", "harden"], seconds: 7 },
        };
        assert.deepStrictEqual(parseTimings(JSON.stringify(summary)), parseTimings(summary));
        assert.deepStrictEqual(parseTimings(JSON.stringify(summary)).stages, [
            { stage: "verify", seconds: 3, status: "ok" },
            { stage: "harden", seconds: 4, status: "ok" },
        ]);
    });

    it("reads only the shape the program produces: other shapes are notes, not guesses", () => {
        const report = parseTimings({ stages: [{ stage: "verify", seconds: 3 }], desktop: 5, wallClock: { seconds: 7 }, criticalPath: ["verify"] });
        assert.deepStrictEqual(report.stages, []);
        assert.strictEqual(report.wallClockSeconds, undefined);
        assert.deepStrictEqual(report.notes, [
            "timings.stages is a list, expected an object of stages",
            "no stage timings found",
            "timings.criticalPath is not { stages, seconds }",
        ]);
        assert.deepStrictEqual(parseTimings({ stages: { desktop: { seconds: "4" } } }).notes, [
            "stage desktop has no numeric seconds",
            "no stage timings found",
        ]);
    });

    it("reports what it could not read instead of throwing", () => {
        assert.deepStrictEqual(parseTimings(undefined).notes, ["the stack has no timings output"]);
        assert.deepStrictEqual(parseTimings("not json").notes, ["the timings output is a string that is not JSON"]);
        assert.deepStrictEqual(parseTimings([1, 2]).notes, ["the timings output is a list, expected an object"]);
        assert.deepStrictEqual(parseTimings({ stages: { desktop: { status: "ok" } }, criticalPath: 5 }).notes, [
            "stage desktop has no numeric seconds",
            "no stage timings found",
            "timings.criticalPath is not { stages, seconds }",
        ]);
        assert.match(formatTimingTable(parseTimings(undefined)), /wall clock: {6}- s\ncritical path: {3}-\nnote: the stack has no timings output/);
    });
});
