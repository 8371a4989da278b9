// Draws a Timeline (model.ts) as a self-contained HTML page: inline CSS and one inline
// SVG, no scripts, fonts or other files, so it opens offline from a run's folder.
import { ResourceSample, Timeline } from "./model";

/** Where things go, in SVG user units. The geometry test reads these too. */
export const LAYOUT = {
    /** Left column for the stage names. */
    labelWidth: 170,
    /** Width of the time axis: the wall clock from the first start to the last end. */
    plotWidth: 880,
    /** Right margin for the seconds printed after the last bar. */
    rightMargin: 70,
    /** Space above the first lane for the time axis labels. */
    top: 28,
    laneHeight: 26,
    barHeight: 18,
    /** Each resource chart's height, and the gap above it. */
    chartHeight: 90,
    chartGap: 34,
} as const;

/** The horizontal scale: host epoch seconds → x. */
export interface TimeScale {
    t0: number;
    t1: number;
    x(t: number): number;
}

export function timeScale(timeline: Timeline): TimeScale {
    const t0 = Math.min(...timeline.stages.map((s) => s.start));
    const t1 = Math.max(...timeline.stages.map((s) => s.end));
    const span = t1 > t0 ? t1 - t0 : 1;
    return { t0, t1, x: (t) => LAYOUT.labelWidth + ((t - t0) / span) * LAYOUT.plotWidth };
}

/** Two decimals: enough for a screen, and the same number the tests recompute. */
export function r2(n: number): number {
    return Math.round(n * 100) / 100;
}

function esc(s: string): string {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function secs(n: number): string {
    return n >= 100 ? `${Math.round(n)} s` : `${Math.round(n * 10) / 10} s`;
}

/** A tick step giving at most about 10 labels over the span. */
function tickStep(span: number): number {
    for (const step of [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600]) if (span / step <= 10) return step;
    return 7200;
}

function lanesSvg(tl: Timeline, scale: TimeScale): string[] {
    const out: string[] = [];
    tl.stages.forEach((s, i) => {
        const laneY = LAYOUT.top + i * LAYOUT.laneHeight;
        const y = r2(laneY + (LAYOUT.laneHeight - LAYOUT.barHeight) / 2);
        const x = r2(scale.x(s.start));
        const width = r2(scale.x(s.end) - scale.x(s.start));
        const lockWidth = r2(scale.x(s.start + s.lockWaitSeconds) - scale.x(s.start));
        const classes = ["bar", ...(s.critical ? ["critical"] : []), ...(s.status === "skipped" ? ["skipped"] : [])].join(" ");
        const tip = `${s.name}: ${secs(s.seconds)} (${s.status})${s.lockWaitSeconds > 0 ? `, ${secs(s.lockWaitSeconds)} waiting for the dpkg lock` : ""}${s.critical ? ", on the critical path" : ""}`;
        out.push(`<g class="lane" data-stage="${esc(s.name)}">`);
        out.push(`<text class="label" x="${LAYOUT.labelWidth - 8}" y="${r2(laneY + LAYOUT.laneHeight / 2 + 4)}" text-anchor="end">${esc(s.name)}</text>`);
        out.push(
            `<rect class="${classes}" data-stage="${esc(s.name)}" x="${x}" y="${y}" width="${width}" height="${LAYOUT.barHeight}"><title>${esc(tip)}</title></rect>`,
        );
        if (s.lockWaitSeconds > 0) {
            out.push(
                `<rect class="lock-wait" data-stage="${esc(s.name)}" x="${x}" y="${y}" width="${lockWidth}" height="${LAYOUT.barHeight}"><title>${esc(`${s.name}: ${secs(s.lockWaitSeconds)} waiting for the dpkg lock (the total, drawn at the bar's start)`)}</title></rect>`,
            );
        }
        out.push(`<text class="secs" x="${r2(x + width + 4)}" y="${r2(laneY + LAYOUT.laneHeight / 2 + 4)}">${esc(secs(s.seconds))}</text>`);
        out.push("</g>");
    });
    return out;
}

function axisSvg(scale: TimeScale, bottom: number): string[] {
    const out: string[] = [`<g class="axis">`];
    const step = tickStep(scale.t1 - scale.t0);
    for (let k = 0; scale.t0 + k * step <= scale.t1 + 1e-9; k++) {
        const x = r2(scale.x(scale.t0 + k * step));
        out.push(`<line x1="${x}" y1="${LAYOUT.top - 4}" x2="${x}" y2="${bottom}"/>`);
        out.push(`<text x="${x}" y="${LAYOUT.top - 8}" text-anchor="middle">${esc(secs(k * step))}</text>`);
    }
    out.push("</g>");
    return out;
}

function chartSvg(kind: "memory" | "cpu", samples: ResourceSample[], scale: TimeScale, top: number): string[] {
    const h = LAYOUT.chartHeight;
    const inRange = samples.filter((s) => s.t >= scale.t0 && s.t <= scale.t1);
    // Memory on a scale a little above its peak: a big machine's total would flatten the line.
    const total = Math.max(1, ...inRange.map((s) => s.memUsedMB + s.memAvailMB));
    const max = kind === "cpu" ? 100 : Math.min(total, Math.max(1, Math.ceil((1.25 * Math.max(0, ...inRange.map((s) => s.memUsedMB))) / 100) * 100));
    const value = (s: ResourceSample): number => (kind === "cpu" ? s.cpuPercent : s.memUsedMB);
    const label = kind === "cpu" ? "CPU %" : "memory used, MB";
    const peak = inRange.length ? Math.max(...inRange.map(value)) : undefined;
    const out = [
        `<g class="chart" data-chart="${kind}">`,
        `<rect class="frame" x="${LAYOUT.labelWidth}" y="${top}" width="${LAYOUT.plotWidth}" height="${h}"/>`,
        `<text class="label" x="${LAYOUT.labelWidth - 8}" y="${top + 14}" text-anchor="end">${esc(label)}</text>`,
        `<text class="label small" x="${LAYOUT.labelWidth - 8}" y="${top + 30}" text-anchor="end">${esc(kind === "cpu" ? "scale 0 to 100" : `scale 0 to ${Math.round(max)} of ${Math.round(total)}`)}</text>`,
    ];
    if (inRange.length) {
        const points = inRange.map((s) => `${r2(scale.x(s.t))},${r2(top + h - (value(s) / max) * h)}`).join(" ");
        out.push(`<polyline class="series ${kind}" data-samples="${inRange.length}" points="${points}"/>`);
        out.push(
            `<text class="label small" x="${LAYOUT.labelWidth - 8}" y="${top + 46}" text-anchor="end">peak ${esc(String(Math.round(peak! * 10) / 10))}</text>`,
        );
    } else {
        out.push(`<text class="label" x="${LAYOUT.labelWidth + 10}" y="${top + h / 2}">no monitor samples in this run</text>`);
    }
    out.push("</g>");
    return out;
}

/** The SVG alone (valid XML: the tests parse it). */
export function renderSvg(tl: Timeline): string {
    if (tl.stages.length === 0) throw new Error("a timeline needs at least one stage");
    const scale = timeScale(tl);
    const lanesBottom = LAYOUT.top + tl.stages.length * LAYOUT.laneHeight;
    const memTop = lanesBottom + LAYOUT.chartGap;
    const cpuTop = memTop + LAYOUT.chartHeight + LAYOUT.chartGap;
    const height = cpuTop + LAYOUT.chartHeight + 10;
    const width = LAYOUT.labelWidth + LAYOUT.plotWidth + LAYOUT.rightMargin;
    return [
        `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(`stage timeline: ${tl.title}`)}">`,
        ...axisSvg(scale, cpuTop + LAYOUT.chartHeight),
        ...lanesSvg(tl, scale),
        ...chartSvg("memory", tl.samples, scale, memTop),
        ...chartSvg("cpu", tl.samples, scale, cpuTop),
        "</svg>",
    ].join("\n");
}

const CSS = `
body { font: 14px/1.4 sans-serif; color: #222; background: #fff; margin: 16px; }
h1 { font-size: 18px; margin: 0 0 8px; }
.totals { display: flex; flex-wrap: wrap; gap: 6px 24px; margin: 0 0 8px; }
.totals div { white-space: nowrap; }
.totals dt { display: inline; color: #555; }
.totals dd { display: inline; margin: 0 0 0 4px; font-weight: bold; }
.legend span { margin-right: 16px; }
.swatch { display: inline-block; width: 14px; height: 10px; margin-right: 4px; vertical-align: middle; }
svg.timeline text { font: 12px sans-serif; fill: #222; }
svg.timeline text.small { font-size: 10px; fill: #555; }
svg.timeline .axis line { stroke: #e4e4e4; }
svg.timeline .axis text { fill: #666; font-size: 10px; }
svg.timeline rect.bar { fill: #8fb3d9; }
svg.timeline rect.bar.critical { fill: #d9822b; stroke: #8a4b0f; stroke-width: 1.5; }
svg.timeline rect.bar.skipped { fill: #c8c8c8; }
svg.timeline rect.lock-wait { fill: #5a3f8c; fill-opacity: 0.55; }
svg.timeline rect.frame { fill: none; stroke: #bbb; }
svg.timeline polyline.series { fill: none; stroke-width: 1.5; }
svg.timeline polyline.memory { stroke: #2b7a3d; }
svg.timeline polyline.cpu { stroke: #b8322f; }
`;

/** The whole page: title, totals, legend, the SVG. */
export function renderHtml(tl: Timeline): string {
    const totals: [string, string][] = [
        ["wall clock", secs(tl.wallClockSeconds)],
        ["sequential sum", secs(tl.sequentialSeconds)],
        ["saved by parallelism", `${secs(tl.parallelSavingsSeconds)} (${Math.round(tl.parallelSavingsPercent)} %)`],
        ["critical path", `${tl.criticalPath.join(" → ")} (${secs(tl.criticalPathSeconds)})`],
    ];
    const lockTotal = tl.stages.reduce((a, s) => a + s.lockWaitSeconds, 0);
    totals.push(["dpkg lock waits", secs(lockTotal)]);
    return [
        "<!DOCTYPE html>",
        `<html lang="en"><head><meta charset="utf-8"><title>${esc(`timeline: ${tl.title}`)}</title>`,
        `<style>${CSS}</style></head><body>`,
        `<h1>${esc(`Where the time went: ${tl.title}`)}</h1>`,
        `<dl class="totals">${totals.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join("")}</dl>`,
        `<p class="legend"><span><i class="swatch" style="background:#d9822b"></i>critical path</span>` +
            `<span><i class="swatch" style="background:#8fb3d9"></i>other stages</span>` +
            `<span><i class="swatch" style="background:#c8c8c8"></i>skipped (work found done)</span>` +
            `<span><i class="swatch" style="background:#5a3f8c;opacity:.55"></i>waiting for the dpkg lock (total, drawn at the bar's start)</span>` +
            `<span>times on the host's clock, from the first stage's start</span></p>`,
        renderSvg(tl),
        "</body></html>",
        "",
    ].join("\n");
}
