// Percentiles and summaries of benchmark samples.
//
// Method: nearest rank. The p-th percentile of n samples is the smallest sample such that
// at least p % of the samples are less than or equal to it: sorted[ceil(p/100 * n) - 1]
// (rank at least 1). With few runs it always returns a value that was measured (with
// K = 3, p50 is the median and p95 the slowest run), never an interpolation between runs.

import { percentile } from "../../components/timing";

export const PERCENTILE_METHOD =
    "nearest rank: the p-th percentile of n samples is sorted[ceil(p/100 * n) - 1], a measured value (with 3 runs p50 is the median and p95 the maximum)";

/** The p-th percentile (0 < p <= 100) by nearest rank; one implementation with the fleet report's. */
export { percentile };

export interface Summary {
    n: number;
    p50: number;
    p95: number;
    min: number;
    max: number;
    avg: number;
}

export function summarize(samples: readonly number[]): Summary {
    if (samples.length === 0) throw new RangeError("summary of no samples");
    return {
        n: samples.length,
        p50: percentile(samples, 50),
        p95: percentile(samples, 95),
        min: Math.min(...samples),
        max: Math.max(...samples),
        avg: samples.reduce((a, b) => a + b, 0) / samples.length,
    };
}

/** Rounds to `digits` decimals (for the results file: no float noise like 0.30000000000000004). */
export function round(value: number, digits = 3): number {
    const f = 10 ** digits;
    return Math.round(value * f) / f;
}
