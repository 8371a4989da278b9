// The activity recorder the monitor stage installs (record-activity), run here with fake
// `who`, `ss` and `date`, and a temporary /dev, /home, /proc and state directory.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Activity, parseActivity } from "../../tools/deploy/idle";
import { PROVISIONING, assemble, fakeCommand, runBash, tempDir } from "./helpers";

const NOW = 1_800_000_000;

/** The recorder's text as monitor.sh installs it. */
function recorderScript(dir: string): string {
    const file = path.join(dir, "record-activity");
    const res = runBash(
        assemble({ WS_NO_MAIN: "1" }, `${fs.readFileSync(path.join(PROVISIONING, "monitor.sh"), "utf8")}\nprintf '%s\\n' "$MN_RECORDER_TEXT" >'${file}'`),
    );
    assert.strictEqual(res.code, 0, res.stderr);
    return file;
}

interface World {
    /** pts name → seconds since its last input. */
    ttys?: Record<string, number>;
    /** ms since each RDP connection last received data. */
    rdp?: number[];
    /** user → keep-alive mtime relative to now (s). */
    keepAlive?: Record<string, number>;
    /** /proc/stat's cpu line: total busy and idle jiffies. */
    cpu?: [number, number];
}

describe("record-activity (monitor stage)", () => {
    let root: string;
    let script: string;

    beforeEach(() => {
        root = tempDir("activity");
        script = recorderScript(root);
        for (const d of ["dev/pts", "home", "proc", "state", "bin"]) fs.mkdirSync(path.join(root, d), { recursive: true });
        fs.writeFileSync(path.join(root, "proc", "uptime"), "600.52 1100.10\n");
        fakeCommand(path.join(root, "bin"), "date", `echo ${NOW}`);
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    function record(world: World): Activity {
        const ttys = world.ttys ?? {};
        for (const [tty, ago] of Object.entries(ttys)) {
            const f = path.join(root, "dev", tty);
            fs.writeFileSync(f, "");
            fs.utimesSync(f, NOW - ago, NOW - ago);
        }
        fakeCommand(
            path.join(root, "bin"),
            "who",
            Object.keys(ttys)
                .map((t, i) => `echo 'dev      ${t}        2026-12-03 09:0${i} (10.213.1.1)'`)
                .join("\n") || "true",
        );
        fakeCommand(
            path.join(root, "bin"),
            "ss",
            (world.rdp ?? [])
                .map((ms) => `echo '0 0 127.0.0.1:3389 127.0.0.1:4${ms % 1000}'; echo '\t cubic wscale:7,7 rto:204 lastsnd:20 lastrcv:${ms} lastack:20'`)
                .join("\n") || "true",
        );
        for (const [user, rel] of Object.entries(world.keepAlive ?? {})) {
            const f = path.join(root, "home", user, ".workstation-keepalive");
            fs.mkdirSync(path.dirname(f), { recursive: true });
            fs.writeFileSync(f, "");
            fs.utimesSync(f, NOW + rel, NOW + rel);
        }
        const [busy, idle] = world.cpu ?? [1000, 9000];
        fs.writeFileSync(path.join(root, "proc", "stat"), `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 1 2 3 4\n`);
        const res = runBash(`exec bash '${script}'`, {
            pathPrefix: [path.join(root, "bin")],
            env: {
                WS_ACTIVITY_DIR: path.join(root, "state"),
                WS_DEV_DIR: path.join(root, "dev"),
                WS_HOMES_DIR: path.join(root, "home"),
                WS_PROC_DIR: path.join(root, "proc"),
            },
        });
        assert.strictEqual(res.code, 0, res.stderr);
        return parseActivity(fs.readFileSync(path.join(root, "state", "activity.json"), "utf8"));
    }

    it("counts a new host active from its boot", () => {
        assert.deepStrictEqual(record({}), {
            updatedAt: NOW,
            lastActiveAt: NOW - 600,
            reason: "boot",
            sessions: { ssh: 0, xrdp: 0 },
            cpuPercent: 0,
            warnedAt: null,
        });
    });

    it("records SSH sessions by their terminal's last input and RDP connections by their last data", () => {
        const a = record({ ttys: { "pts/0": 120, "pts/1": 400 }, rdp: [30_000] });
        assert.deepStrictEqual([a.lastActiveAt, a.reason, a.sessions], [NOW - 30, "xrdp", { ssh: 2, xrdp: 1 }]);
        const b = record({ ttys: { "pts/0": 5 } });
        assert.deepStrictEqual([b.lastActiveAt, b.reason, b.sessions], [NOW - 5, "ssh", { ssh: 1, xrdp: 0 }]);
    });

    it("never moves lastActiveAt back: an idle session after activity leaves it where it was", () => {
        record({ ttys: { "pts/0": 60 } });
        const a = record({ ttys: { "pts/0": 3000 } });
        assert.deepStrictEqual([a.lastActiveAt, a.reason], [NOW - 60, "ssh"]);
    });

    it("counts CPU busier than the threshold since the last run, not below it", () => {
        record({ cpu: [1000, 9000] });
        const calm = record({ cpu: [1100, 9900] }); // 10 % busy
        assert.deepStrictEqual([calm.cpuPercent, calm.reason], [10, "boot"]);
        const busy = record({ cpu: [1900, 10000] }); // 800 of 900 jiffies busy: 88 %
        assert.deepStrictEqual([busy.cpuPercent, busy.lastActiveAt, busy.reason], [88, NOW, "cpu"]);
    });

    it("honours a keep-alive file, a future mtime keeping the host active until then", () => {
        const a = record({ keepAlive: { dev: 3 * 3600 } });
        assert.deepStrictEqual([a.lastActiveAt, a.reason], [NOW + 3 * 3600, "keepalive"]);
    });

    it("keeps stop-idle's warning marker while idle and removes it once activity follows", () => {
        record({});
        fs.writeFileSync(path.join(root, "state", "idle-warned"), `${NOW - 100}\n`);
        assert.strictEqual(record({}).warnedAt, NOW - 100);
        const active = record({ ttys: { "pts/0": 10 } });
        assert.strictEqual(active.warnedAt, null);
        assert.ok(!fs.existsSync(path.join(root, "state", "idle-warned")));
    });
});
