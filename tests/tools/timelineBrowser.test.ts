// Renders the timeline page in a real browser (Debian's headless Chromium) and checks
// that it is not blank and that the bars the browser lays out match the timings.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { timelineFromOutputs } from "../../tools/timeline/model";
import { LAYOUT, renderHtml } from "../../tools/timeline/render";
import { STAGES, outputs } from "./fixture";

const CHROMIUM = "/usr/bin/chromium";

/** Flags for a closed network and a throwaway profile. */
function chromium(args: string[], profile: string): { stdout: string; stderr: string; status: number | null } {
    const res = spawnSync(
        CHROMIUM,
        [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            `--user-data-dir=${profile}`,
            ...args,
        ],
        { encoding: "utf8", timeout: 90_000, maxBuffer: 32 * 1024 * 1024 },
    );
    if (res.error) throw res.error;
    return { stdout: res.stdout, stderr: res.stderr, status: res.status };
}

/** The pixels of an 8-bit RGB or RGBA PNG (what Chromium writes), as [r, g, b] rows. */
export function decodePng(buf: Buffer): { width: number; height: number; pixel(x: number, y: number): [number, number, number] } {
    assert.equal(buf.subarray(0, 8).toString("hex"), "89504e470d0a1a0a", "not a PNG");
    let pos = 8;
    let width = 0,
        height = 0,
        colorType = 0;
    const idat: Buffer[] = [];
    while (pos < buf.length) {
        const len = buf.readUInt32BE(pos);
        const type = buf.subarray(pos + 4, pos + 8).toString("latin1");
        const data = buf.subarray(pos + 8, pos + 8 + len);
        if (type === "IHDR") {
            width = data.readUInt32BE(0);
            height = data.readUInt32BE(4);
            assert.equal(data[8], 8, "8-bit PNG expected");
            colorType = data[9]!;
            assert.equal(data[12], 0, "non-interlaced PNG expected");
        } else if (type === "IDAT") idat.push(data);
        pos += 12 + len;
    }
    const bpp = colorType === 6 ? 4 : colorType === 2 ? 3 : assert.fail(`PNG colour type ${colorType}`);
    const raw = zlib.inflateSync(Buffer.concat(idat));
    const stride = width * bpp;
    const out = Buffer.alloc(height * stride);
    for (let y = 0; y < height; y++) {
        const filter = raw[y * (stride + 1)]!;
        const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
        for (let i = 0; i < stride; i++) {
            const a = i >= bpp ? out[y * stride + i - bpp]! : 0;
            const b = y > 0 ? out[(y - 1) * stride + i]! : 0;
            const c = i >= bpp && y > 0 ? out[(y - 1) * stride + i - bpp]! : 0;
            const p = a + b - c;
            const pred =
                filter === 0
                    ? 0
                    : filter === 1
                      ? a
                      : filter === 2
                        ? b
                        : filter === 3
                          ? (a + b) >> 1
                          : Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
                            ? a
                            : Math.abs(p - b) <= Math.abs(p - c)
                              ? b
                              : c;
            out[y * stride + i] = (line[i]! + pred) & 0xff;
        }
    }
    return { width, height, pixel: (x, y) => [out[y * stride + x * bpp]!, out[y * stride + x * bpp + 1]!, out[y * stride + x * bpp + 2]!] };
}

// Measures, in the browser, every bar and lock-wait rectangle and what is painted at its centre.
const PROBE = `<script>
const found = [...document.querySelectorAll("rect.bar, rect.lock-wait")].map((r) => {
  const b = r.getBBox(), c = r.getBoundingClientRect();
  const top = document.elementFromPoint(c.left + c.width / 2, c.top + c.height / 2);
  return { stage: r.dataset.stage, kind: r.classList.contains("bar") ? "bar" : "lock-wait", x: b.x, width: b.width,
    screenWidth: c.width, fill: getComputedStyle(r).fill, hit: top === r || (top && top.closest("g.lane") === r.closest("g.lane")) };
});
const pre = document.createElement("pre"); pre.id = "probe"; pre.textContent = JSON.stringify(found); document.body.append(pre);
</script>`;

describe("timeline picture in headless Chromium", function () {
    this.timeout(180_000);
    let dir: string;

    before(function () {
        if (!fs.existsSync(CHROMIUM)) {
            if (process.getuid?.() !== 0) {
                console.log(`      skipped: ${CHROMIUM} is missing and this user is not root (install it: apt-get install -y chromium)`);
                this.skip();
            }
            assert.fail(`${CHROMIUM} is missing: the test set-up installs it (apt-get install -y chromium)`);
        }
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-timeline-browser-"));
    });

    after(() => {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("paints a page that is not blank: coloured bars in a screenshot", () => {
        const page = path.join(dir, "timeline.html");
        fs.writeFileSync(page, renderHtml(timelineFromOutputs(outputs(), "browser")));
        const shot = path.join(dir, "shot.png");
        const res = chromium([`--screenshot=${shot}`, "--window-size=1200,700", `file://${page}`], path.join(dir, "profile-shot"));
        assert.ok(fs.existsSync(shot), `no screenshot (exit ${res.status}): ${res.stderr.slice(-2000)}`);
        const png = decodePng(fs.readFileSync(shot));
        let nonWhite = 0,
            critical = 0;
        for (let y = 0; y < png.height; y++) {
            for (let x = 0; x < png.width; x++) {
                const [r, g, b] = png.pixel(x, y);
                if (r < 245 || g < 245 || b < 245) nonWhite++;
                if (r === 0xd9 && g === 0x82 && b === 0x2b) critical++; // the critical path's fill
            }
        }
        assert.ok(nonWhite > 0.02 * png.width * png.height, `only ${nonWhite} non-white pixels of ${png.width * png.height}`);
        assert.ok(critical > 500, `only ${critical} pixels in the critical path's colour`);
    });

    it("lays out each bar where the timings put it (getBBox in the rendered DOM)", () => {
        const page = path.join(dir, "probe.html");
        fs.writeFileSync(page, renderHtml(timelineFromOutputs(outputs(), "browser")).replace("</body>", `${PROBE}</body>`));
        const res = chromium(["--dump-dom", "--window-size=1400,900", `file://${page}`], path.join(dir, "profile-dom"));
        const m = /<pre id="probe">([\s\S]*?)<\/pre>/.exec(res.stdout);
        assert.ok(m, `no probe in the dumped DOM (exit ${res.status}): ${res.stderr.slice(-2000)}`);
        const found = JSON.parse(
            m[1]!
                .replace(/&quot;/g, '"')
                .replace(/&lt;/g, "<")
                .replace(/&gt;/g, ">")
                .replace(/&amp;/g, "&"),
        ) as { stage: string; kind: string; x: number; width: number; screenWidth: number; fill: string; hit: boolean }[];
        const t0 = Math.min(...STAGES.map((s) => s.start));
        const px = LAYOUT.plotWidth / (Math.max(...STAGES.map((s) => s.end)) - t0);
        const bars = found.filter((f) => f.kind === "bar");
        assert.deepEqual(bars.map((b) => b.stage).sort(), STAGES.map((s) => s.stage).sort());
        for (const s of STAGES) {
            const bar = bars.find((b) => b.stage === s.stage)!;
            assert.ok(Math.abs(bar.x - (LAYOUT.labelWidth + (s.start - t0) * px)) < 0.02, `${s.stage}: x ${bar.x}`);
            assert.ok(Math.abs(bar.width - s.seconds * px) < 0.02, `${s.stage}: width ${bar.width}`);
            assert.ok(Math.abs(bar.screenWidth - bar.width) < 0.5, `${s.stage}: drawn ${bar.screenWidth} px wide, not at 1:1`);
            assert.notEqual(bar.fill, "none");
            assert.ok(bar.hit, `${s.stage}: something else is painted over the bar's centre`);
        }
        const waits = found.filter((f) => f.kind === "lock-wait");
        for (const w of waits) {
            const s = STAGES.find((t) => t.stage === w.stage)!;
            assert.ok(Math.abs(w.width - s.lockWaitSeconds! * px) < 0.02, `${w.stage}: lock wait ${w.width}`);
        }
        assert.deepEqual(
            waits.map((w) => w.stage),
            ["desktop", "ide-vscode", "ide-cursor"],
        );
    });
});
