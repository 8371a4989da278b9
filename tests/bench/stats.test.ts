import * as assert from "assert";
import { percentile, round, summarize } from "../../tools/bench/stats";

describe("bench percentiles (nearest rank)", () => {
    it("returns the median of three runs as p50 and the slowest as p95", () => {
        assert.strictEqual(percentile([30, 10, 20], 50), 20);
        assert.strictEqual(percentile([30, 10, 20], 95), 30);
    });

    it("picks sorted[ceil(p/100 * n) - 1] on 50 samples", () => {
        const s = Array.from({ length: 50 }, (_, i) => 50 - i); // 50..1, unsorted on purpose
        assert.strictEqual(percentile(s, 50), 25);
        assert.strictEqual(percentile(s, 95), 48); // ceil(47.5) = 48th smallest
        assert.strictEqual(percentile(s, 100), 50);
        assert.strictEqual(percentile(s, 1), 1);
        assert.strictEqual(percentile(s, 0.5), 1); // rank at least 1
    });

    it("returns the only sample for one run, and never interpolates", () => {
        assert.strictEqual(percentile([7.5], 50), 7.5);
        assert.strictEqual(percentile([7.5], 95), 7.5);
        assert.strictEqual(percentile([1, 2], 50), 1);
        assert.strictEqual(percentile([1, 2], 51), 2);
    });

    it("does not reorder the caller's array", () => {
        const s = [3, 1, 2];
        percentile(s, 50);
        assert.deepStrictEqual(s, [3, 1, 2]);
    });

    it("refuses no samples, non-finite samples and p outside (0, 100]", () => {
        assert.throws(() => percentile([], 50), /percentile of no values/);
        assert.throws(() => percentile([1, NaN], 50), /finite/);
        assert.throws(() => percentile([1], 0), /\(0, 100\]/);
        assert.throws(() => percentile([1], 101), /\(0, 100\]/);
    });

    it("summarizes n, p50, p95, min, max and the mean", () => {
        assert.deepStrictEqual(summarize([4, 1, 3, 2]), { n: 4, p50: 2, p95: 4, min: 1, max: 4, avg: 2.5 });
    });

    it("rounds without float noise", () => {
        assert.strictEqual(round(0.1 + 0.2, 3), 0.3);
        assert.strictEqual(round(12.34567, 1), 12.3);
    });
});
