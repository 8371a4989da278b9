import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { METRICS } from "../../tools/bench/resultsShape";
import { evaluateThresholds, parseExpression, parseThresholds, ThresholdError, thresholdsPassed } from "../../tools/bench/threshold";

const NAMES = Object.keys(METRICS);

function message(fn: () => unknown): string {
    try {
        fn();
    } catch (err) {
        assert.ok(err instanceof ThresholdError, `expected a ThresholdError, got ${String(err)}`);
        return err.message;
    }
    assert.fail("expected a ThresholdError");
}

describe("bench thresholds (k6 style)", () => {
    it("parses percentile and named aggregations with every operator", () => {
        assert.deepStrictEqual(parseExpression("optimized/naive", "p50<=0.7"), {
            metric: "optimized/naive",
            expression: "p50<=0.7",
            aggregation: { kind: "percentile", p: 50 },
            op: "<=",
            limit: 0.7,
        });
        assert.deepStrictEqual(parseExpression("m", " p99.9 < 10 ").aggregation, { kind: "percentile", p: 99.9 });
        for (const [expr, op] of [
            ["max<1", "<"],
            ["min>=2", ">="],
            ["avg>3", ">"],
            ["med==4", "=="],
        ] as const) {
            assert.strictEqual(parseExpression("m", expr).op, op);
        }
    });

    it("names the metric, the expression and the allowed form when an expression is bad", () => {
        assert.strictEqual(
            message(() => parseExpression("rerun.seconds", "p50 =< 10")),
            'threshold for "rerun.seconds": "p50 =< 10" is not <aggregation><op><number> with aggregation p<N> (0<N<=100), med, avg, min or max and op <, <=, >, >= or ==, e.g. "p50<=0.7"',
        );
        assert.strictEqual(
            message(() => parseExpression("m", "p0<1")),
            'threshold for "m": "p0<1" has percentile 0; allowed: 0 < N <= 100',
        );
        assert.strictEqual(
            message(() => parseExpression("m", "p101<1")),
            'threshold for "m": "p101<1" has percentile 101; allowed: 0 < N <= 100',
        );
    });

    it("reads a string or a list per metric and refuses unknown metrics", () => {
        const t = parseThresholds({ "optimized/naive": "p50<=0.7", "key.ed25519.ms": ["p95<=10", "max<50"] }, NAMES);
        assert.deepStrictEqual(
            t.map((x) => `${x.metric} ${x.expression}`),
            ["optimized/naive p50<=0.7", "key.ed25519.ms p95<=10", "key.ed25519.ms max<50"],
        );
        assert.match(
            message(() => parseThresholds({ "optimised/naive": "p50<1" }, NAMES, "tools/bench/thresholds.json")),
            /^tools\/bench\/thresholds\.json: unknown metric "optimised\/naive"; allowed: optimized\.seconds, /,
        );
        assert.match(
            message(() => parseThresholds({ "rerun.seconds": [] }, NAMES)),
            /"rerun.seconds" must be an expression string or a non-empty list of them, got \[\]/,
        );
        assert.match(
            message(() => parseThresholds({ "rerun.seconds": 10 }, NAMES)),
            /got 10$/,
        );
        assert.match(
            message(() => parseThresholds(["p50<1"], NAMES)),
            /must be a JSON object .* got an array/,
        );
    });

    it("passes at the limit of <=, fails above it, and skips a metric that was not measured", () => {
        const t = parseThresholds({ "optimized/naive": "p50<=0.7", "rerun.seconds": "p50<=10", "key.ed25519.ms": "p95<=10" }, NAMES);
        const out = evaluateThresholds(t, { "optimized/naive": [0.7, 0.9, 0.5], "rerun.seconds": [10.5, 11, 12] });
        assert.deepStrictEqual(out, [
            { metric: "optimized/naive", expression: "p50<=0.7", value: 0.7, status: "pass" },
            { metric: "rerun.seconds", expression: "p50<=10", value: 11, status: "fail" },
            { metric: "key.ed25519.ms", expression: "p95<=10", status: "skipped" },
        ]);
        assert.strictEqual(thresholdsPassed(out), false);
        assert.strictEqual(thresholdsPassed(out.filter((o) => o.status !== "fail")), true);
    });

    it("ships the goals of issues 18, 14 and 15: optimized/naive <= 0.4, optimized/floor <= 1.2, optimized/limit <= 1.2, re-run <= 3 s, from-image/fresh <= 0.2, ED25519 p95 <= 10 ms, no fleet failure", () => {
        const doc: unknown = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "tools", "bench", "thresholds.json"), "utf8"));
        const t = parseThresholds(doc, NAMES);
        assert.deepStrictEqual(
            t.map((x) => `${x.metric} ${x.expression}`),
            [
                "optimized/naive p50<=0.4",
                "optimized/floor p50<=1.2",
                "optimized/limit p50<=1.2",
                "rerun.seconds p50<=3",
                "from-image/fresh p50<=0.2",
                "key.ed25519.ms p95<=10",
                "fleet.failures max==0",
            ],
        );
    });
});
