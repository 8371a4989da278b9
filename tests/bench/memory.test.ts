import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { containerInit, processMemoryKb, sampleNamespace } from "../../tools/bench/memory";

// A fake /proc: nspawn (pid 10, outer namespace) -> its child 11 (outer) -> 12, the
// container's init in another namespace, with 13 and 14 inside it; 20 is outside.
function fakeProc(): string {
    const proc = fs.mkdtempSync(path.join(os.tmpdir(), "bench-proc-"));
    const proc1 = (pid: number, ns: string, children: number[], pss?: number, rss?: number): void => {
        const dir = path.join(proc, String(pid));
        fs.mkdirSync(path.join(dir, "ns"), { recursive: true });
        fs.mkdirSync(path.join(dir, "task", String(pid)), { recursive: true });
        fs.symlinkSync(`pid:[${ns}]`, path.join(dir, "ns", "pid"));
        fs.writeFileSync(path.join(dir, "task", String(pid), "children"), children.length ? `${children.join(" ")} ` : "");
        if (pss !== undefined)
            fs.writeFileSync(path.join(dir, "smaps_rollup"), `00400000-7fff [rollup]\nRss:    ${rss} kB\nPss:    ${pss} kB\nPss_Anon:  1 kB\n`);
    };
    proc1(10, "4026531836", [11], 4000, 5000);
    proc1(11, "4026531836", [12]);
    proc1(12, "4026532999", [13, 14], 10240, 12288);
    proc1(13, "4026532999", [], 20480, 30720);
    proc1(14, "4026532999", []); // no smaps_rollup: gone between readdir and read
    proc1(20, "4026531836", [], 99999, 99999);
    fs.mkdirSync(path.join(proc, "self"));
    return proc;
}

describe("bench memory sampling", () => {
    let proc: string;
    before(() => {
        proc = fakeProc();
    });
    after(() => fs.rmSync(proc, { recursive: true, force: true }));

    it("finds the container's init as the first process below nspawn in another PID namespace", () => {
        assert.strictEqual(containerInit(10, proc), 12);
        assert.strictEqual(containerInit(20, proc), undefined);
        assert.strictEqual(containerInit(999, proc), undefined);
    });

    it("sums Pss and Rss over the namespace's processes only, counting a vanished one as 0", () => {
        assert.deepStrictEqual(sampleNamespace("pid:[4026532999]", proc), { pssKb: 30720, rssKb: 43008, processes: 3 });
        assert.deepStrictEqual(processMemoryKb(14, proc), { pss: 0, rss: 0 });
        assert.deepStrictEqual(processMemoryKb(13, proc), { pss: 20480, rss: 30720 });
    });
});
