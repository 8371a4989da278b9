// Pass/fail criteria in the style of k6's thresholds: a JSON object from metric name to one
// expression or a list of them, each `<aggregation><op><number>`:
//
//   { "optimized/naive": "p50<=0.7", "key.ed25519.ms": ["p95<=10", "max<50"] }
//
// Aggregations: p<N> (nearest-rank percentile, 0 < N <= 100), med, avg, min, max.
// Operators: <, <=, >, >=, ==. Every error names the metric, the expression and what is allowed.
// (Not named thresholds.ts: require("./thresholds") would load thresholds.json first.)

import { percentile } from "./stats";

export type Aggregation = { kind: "percentile"; p: number } | { kind: "med" | "avg" | "min" | "max" };
export type Operator = "<" | "<=" | ">" | ">=" | "==";

export interface Threshold {
    metric: string;
    /** The expression as written. */
    expression: string;
    aggregation: Aggregation;
    op: Operator;
    limit: number;
}

export interface ThresholdOutcome {
    metric: string;
    expression: string;
    /** The aggregated value; undefined when the metric has no samples in this run. */
    value?: number;
    /** pass / fail, or skipped when the metric was not measured (its case was not run). */
    status: "pass" | "fail" | "skipped";
}

export class ThresholdError extends Error {}

const EXPRESSION = /^\s*(p\d+(?:\.\d+)?|med|avg|min|max)\s*(<=|>=|==|<|>)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$/;
const ALLOWED_FORM = '<aggregation><op><number> with aggregation p<N> (0<N<=100), med, avg, min or max and op <, <=, >, >= or ==, e.g. "p50<=0.7"';

/** Parses one expression for `metric`. */
export function parseExpression(metric: string, expression: string): Threshold {
    const m = EXPRESSION.exec(expression);
    if (!m) throw new ThresholdError(`threshold for ${JSON.stringify(metric)}: ${JSON.stringify(expression)} is not ${ALLOWED_FORM}`);
    let aggregation: Aggregation;
    if (m[1].startsWith("p")) {
        const p = Number(m[1].slice(1));
        if (!(p > 0 && p <= 100)) {
            throw new ThresholdError(`threshold for ${JSON.stringify(metric)}: ${JSON.stringify(expression)} has percentile ${p}; allowed: 0 < N <= 100`);
        }
        aggregation = { kind: "percentile", p };
    } else {
        aggregation = { kind: m[1] as "med" | "avg" | "min" | "max" };
    }
    return { metric, expression: expression.trim(), aggregation, op: m[2] as Operator, limit: Number(m[3]) };
}

/**
 * Parses a thresholds document (already JSON-parsed). `metrics` lists the metric names the
 * bench produces: any other name is an error, so a typo cannot silently disable a check.
 */
export function parseThresholds(doc: unknown, metrics: readonly string[], source = "thresholds"): Threshold[] {
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
        throw new ThresholdError(
            `${source}: must be a JSON object from metric name to an expression or a list of expressions, got ${Array.isArray(doc) ? "an array" : JSON.stringify(doc)}`,
        );
    }
    const out: Threshold[] = [];
    for (const [metric, value] of Object.entries(doc as Record<string, unknown>)) {
        if (!metrics.includes(metric)) {
            throw new ThresholdError(`${source}: unknown metric ${JSON.stringify(metric)}; allowed: ${metrics.join(", ")}`);
        }
        const list = typeof value === "string" ? [value] : value;
        if (!Array.isArray(list) || list.length === 0 || !list.every((e) => typeof e === "string")) {
            throw new ThresholdError(
                `${source}: ${JSON.stringify(metric)} must be an expression string or a non-empty list of them, got ${JSON.stringify(value)}`,
            );
        }
        for (const e of list as string[]) out.push(parseExpression(metric, e));
    }
    return out;
}

export function aggregate(samples: readonly number[], a: Aggregation): number {
    switch (a.kind) {
        case "percentile":
            return percentile(samples, a.p);
        case "med":
            return percentile(samples, 50);
        case "avg":
            return samples.reduce((x, y) => x + y, 0) / samples.length;
        case "min":
            return Math.min(...samples);
        case "max":
            return Math.max(...samples);
    }
}

export function compare(value: number, op: Operator, limit: number): boolean {
    switch (op) {
        case "<":
            return value < limit;
        case "<=":
            return value <= limit;
        case ">":
            return value > limit;
        case ">=":
            return value >= limit;
        case "==":
            return value === limit;
    }
}

/** Evaluates every threshold against the samples of its metric. */
export function evaluateThresholds(thresholds: readonly Threshold[], samples: Readonly<Record<string, readonly number[]>>): ThresholdOutcome[] {
    return thresholds.map((t) => {
        const s = samples[t.metric];
        if (!s || s.length === 0) return { metric: t.metric, expression: t.expression, status: "skipped" };
        const value = aggregate(s, t.aggregation);
        return { metric: t.metric, expression: t.expression, value, status: compare(value, t.op, t.limit) ? "pass" : "fail" };
    });
}

/** True when no threshold failed (skipped ones do not fail the run). */
export function thresholdsPassed(outcomes: readonly ThresholdOutcome[]): boolean {
    return outcomes.every((o) => o.status !== "fail");
}
