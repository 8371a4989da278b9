import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DOMParser, Element } from "@xmldom/xmldom";
import { main, parseTimelineArgs, stackOutputs } from "../../tools/timeline/cli";
import { TimelineInputError, timelineFromOutputs } from "../../tools/timeline/model";
import { LAYOUT, renderHtml, renderSvg } from "../../tools/timeline/render";
import { STAGES, outputs } from "./fixture";

/** Parses the SVG with a real XML parser; any well-formedness error throws. */
export function parseSvg(svg: string) {
    const doc = new DOMParser({
        onError: (level, msg) => {
            throw new Error(`XML ${level}: ${msg}`);
        },
    }).parseFromString(svg, "image/svg+xml");
    return doc;
}

function elements(doc: ReturnType<typeof parseSvg>, tag: string, cls?: string): Element[] {
    return Array.from(doc.getElementsByTagName(tag)).filter((e) => !cls || (e.getAttribute("class") ?? "").split(" ").includes(cls));
}

const num = (e: Element, a: string): number => Number(e.getAttribute(a));

describe("timeline picture: SVG geometry", () => {
    const tl = timelineFromOutputs(outputs(), "fixture");
    const doc = parseSvg(renderSvg(tl));
    const t0 = Math.min(...STAGES.map((s) => s.start));
    const wall = Math.max(...STAGES.map((s) => s.end)) - t0;
    const pxPerSecond = LAYOUT.plotWidth / wall;

    it("draws one bar per stage whose x and width are its start and seconds on the host's clock", () => {
        const bars = elements(doc, "rect", "bar");
        assert.deepEqual(bars.map((b) => b.getAttribute("data-stage")).sort(), STAGES.map((s) => s.stage).sort());
        for (const s of STAGES) {
            const bar = bars.find((b) => b.getAttribute("data-stage") === s.stage)!;
            assert.ok(Math.abs(num(bar, "x") - (LAYOUT.labelWidth + (s.start - t0) * pxPerSecond)) <= 0.01, `${s.stage} x ${num(bar, "x")}`);
            assert.ok(Math.abs(num(bar, "width") - s.seconds * pxPerSecond) <= 0.01, `${s.stage} width ${num(bar, "width")}`);
            assert.equal(num(bar, "height"), LAYOUT.barHeight);
        }
    });

    it("puts each stage in its own lane, in start order", () => {
        const ys = elements(doc, "rect", "bar").map((b) => [b.getAttribute("data-stage"), num(b, "y")] as const);
        const byStart = [...STAGES].sort((a, b) => a.start - b.start).map((s) => s.stage);
        assert.deepEqual(
            ys.map(([s]) => s),
            byStart,
        );
        ys.forEach(([, y], i) => assert.equal(y, LAYOUT.top + i * LAYOUT.laneHeight + (LAYOUT.laneHeight - LAYOUT.barHeight) / 2));
    });

    it("marks exactly the critical path's stages", () => {
        const critical = elements(doc, "rect", "critical").map((b) => b.getAttribute("data-stage"));
        assert.deepEqual(critical, ["wait-ready", "system-prep", "ide-cursor", "verify", "harden", "report"]);
    });

    it("shades each stage's dpkg lock wait inside its bar, as wide as the wait", () => {
        const waits = elements(doc, "rect", "lock-wait");
        assert.deepEqual(
            waits.map((w) => w.getAttribute("data-stage")),
            ["desktop", "ide-vscode", "ide-cursor"],
        );
        for (const w of waits) {
            const s = STAGES.find((t) => t.stage === w.getAttribute("data-stage"))!;
            const bar = elements(doc, "rect", "bar").find((b) => b.getAttribute("data-stage") === s.stage)!;
            assert.ok(Math.abs(num(w, "width") - s.lockWaitSeconds! * pxPerSecond) <= 0.01, `${s.stage} wait width ${num(w, "width")}`);
            assert.equal(num(w, "x"), num(bar, "x"));
            assert.ok(num(w, "width") <= num(bar, "width"));
        }
    });

    it("draws the memory and CPU samples beneath the lanes, on the same time scale", () => {
        const lanesBottom = LAYOUT.top + STAGES.length * LAYOUT.laneHeight;
        for (const kind of ["memory", "cpu"]) {
            const line = elements(doc, "polyline", kind)[0]!;
            const points = line
                .getAttribute("points")!
                .split(" ")
                .map((p) => p.split(",").map(Number));
            assert.equal(points.length, 11);
            points.forEach(([x], i) => assert.ok(Math.abs(x! - (LAYOUT.labelWidth + i * 10 * pxPerSecond)) <= 0.01));
            for (const [, y] of points) assert.ok(y! > lanesBottom, `${kind} y ${y} below the lanes`);
        }
        // CPU: 0 % at the chart's bottom, 100 % at its top.
        const cpu = elements(doc, "polyline", "cpu")[0]!
            .getAttribute("points")!
            .split(" ")
            .map((p) => p.split(",").map(Number));
        const frame = elements(doc, "rect", "frame")[1]!;
        assert.equal(cpu[0]![1], num(frame, "y") + LAYOUT.chartHeight);
        assert.ok(Math.abs(cpu[1]![1]! - (num(frame, "y") + LAYOUT.chartHeight * (1 - 0.37))) <= 0.01);
        // Memory: scaled to 1.25 × the peak used (1800 MB → 2250, rounded up to 2300), not to the machine's total.
        const mem = elements(doc, "polyline", "memory")[0]!
            .getAttribute("points")!
            .split(" ")
            .map((p) => p.split(",").map(Number));
        const memFrame = elements(doc, "rect", "frame")[0]!;
        assert.ok(Math.abs(mem[10]![1]! - (num(memFrame, "y") + LAYOUT.chartHeight * (1 - 1800 / 2300))) <= 0.01, `peak at y ${mem[10]![1]}`);
    });

    it("writes the totals and needs nothing from the network", () => {
        const html = renderHtml(tl);
        const t = outputs().timings as { wallClockSeconds: number; sequentialSeconds: number; parallelSavingsSeconds: number; parallelSavingsPercent: number };
        assert.match(html, new RegExp(`wall clock</dt><dd>${t.wallClockSeconds} s`));
        assert.match(html, new RegExp(`sequential sum</dt><dd>${Math.round(t.sequentialSeconds)} s`));
        assert.match(
            html,
            new RegExp(`saved by parallelism</dt><dd>${Math.round(t.parallelSavingsSeconds * 10) / 10} s \\(${Math.round(t.parallelSavingsPercent)} %\\)`),
        );
        assert.match(html, /dpkg lock waits<\/dt><dd>83.5 s/);
        assert.doesNotMatch(html, /<script|<link|@import|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    });
});

describe("timeline picture: input", () => {
    it("refuses outputs without timings, naming what is there", () => {
        assert.throws(
            () => timelineFromOutputs({ ipv4Address: "x" }, "t"),
            (e: Error) => e instanceof TimelineInputError && /no "timings" object \(keys: ipv4Address\)/.test(e.message),
        );
    });

    it("refuses a stage whose end is before its start", () => {
        const o = outputs();
        (o.timings as { stages: Record<string, { end: number }> }).stages.desktop.end = 0;
        assert.throws(() => timelineFromOutputs(o, "t"), /timings\.stages\.desktop: needs numeric start <= end/);
    });

    it("draws old outputs without lock waits or samples", () => {
        const o = outputs();
        delete o.resourceSamples;
        const tl = timelineFromOutputs(o, "old");
        assert.equal(tl.samples.length, 0);
        assert.match(renderSvg(tl), /no monitor samples in this run/);
    });
});

describe("npm run timeline", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-timeline-"));

    it("draws the page from --file and prints its path", () => {
        const file = path.join(dir, "outputs.json");
        fs.writeFileSync(file, JSON.stringify(outputs()));
        const written: string[] = [];
        const orig = process.stdout.write.bind(process.stdout);
        process.stdout.write = ((s: string) => {
            written.push(s);
            return true;
        }) as typeof process.stdout.write;
        let code: number;
        try {
            code = main(["--file", file]);
        } finally {
            process.stdout.write = orig;
        }
        assert.equal(code, 0);
        assert.equal(written.join("").trim(), path.join(dir, "outputs.timeline.html"));
        parseSvg(/<svg[\s\S]*<\/svg>/.exec(fs.readFileSync(path.join(dir, "outputs.timeline.html"), "utf8"))![0]);
    });

    it("asks for exactly one of --stack and --file", () => {
        assert.throws(() => parseTimelineArgs([]), /give exactly one of --stack NAME or --file OUTPUTS.json/);
        assert.throws(() => parseTimelineArgs(["--stack", "dev", "--file", "x"]), /exactly one/);
        assert.throws(() => parseTimelineArgs(["--stak", "dev"]), /unknown option "--stak"; allowed: --stack, --file, --out/);
        assert.deepEqual(parseTimelineArgs(["--stack", "dev", "--out", "a.html"]), { stack: "dev", out: "a.html" });
    });

    it("says clearly when the Pulumi CLI is not there", () => {
        assert.throws(
            () => stackOutputs("dev", path.join(dir, "no-such-pulumi")),
            /the Pulumi CLI \(.*no-such-pulumi\) is not installed or not on PATH; .*--file outputs\.json/,
        );
    });

    it("runs `pulumi stack output --json --show-secrets=false --stack NAME`", () => {
        const fake = path.join(dir, "pulumi");
        fs.writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$*" > "${dir}/argv"\necho '{"timings":{"stages":{}}}'\n`, { mode: 0o755 });
        assert.deepEqual(stackOutputs("dev", fake), { timings: { stages: {} } });
        assert.equal(fs.readFileSync(path.join(dir, "argv"), "utf8").trim(), "stack output --json --show-secrets=false --stack dev");
    });
});

describe("the bench's per-case timeline", () => {
    it("writes <case>.timeline.html beside the case's log from the runner's record, secrets masked", async () => {
        const { writeCaseTimeline } = await import("../../tools/bench/cases");
        const { encodeResolved, SecretValue } = await import("../../tools/local/outputs");
        const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-bench-timeline-"));
        const said: string[] = [];
        const o = outputs();
        const rec = { outputs: encodeResolved({ ...(o as object), privateKey: new SecretValue("PRIVATE") } as never) } as never;
        const page = writeCaseTimeline({ logDir, say: (l: string) => said.push(l) }, "bench-o1", rec);
        assert.equal(page, path.join(logDir, "bench-o1.timeline.html"));
        const html = fs.readFileSync(page!, "utf8");
        assert.match(html, /bench case bench-o1/);
        assert.doesNotMatch(html, /PRIVATE/);
        assert.equal(elements(parseSvg(/<svg[\s\S]*<\/svg>/.exec(html)![0]), "rect", "bar").length, STAGES.length);
        assert.deepEqual(said, [`    timeline: ${page}`]);
        assert.equal(writeCaseTimeline({ logDir, say: () => undefined }, "naive", { outputs: {} } as never), undefined);
    });
});
