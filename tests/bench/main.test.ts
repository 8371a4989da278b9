import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../../tools/bench/index";

// main() on paths that end before any measurement: exit codes and messages.
describe("npm run bench (no measurement)", () => {
    let stderr: string;
    let stdout: string;
    const origErr = process.stderr.write.bind(process.stderr);
    const origOut = process.stdout.write.bind(process.stdout);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-main-"));
    beforeEach(() => {
        stderr = "";
        stdout = "";
        process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
        process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
    });
    afterEach(() => {
        process.stderr.write = origErr;
        process.stdout.write = origOut;
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("exits 2 on a bad flag, naming it, and prints the usage", async () => {
        assert.strictEqual(await main(["--runs", "many"]), 2);
        assert.match(stderr, /^npm run bench: --runs "many": must be a whole number from 1 to 20\n\nusage: npm run bench/);
    });

    it("exits 2 on a thresholds file with an unknown metric, naming the file", async () => {
        const file = path.join(dir, "t.json");
        fs.writeFileSync(file, JSON.stringify({ "optimized/naïve": "p50<=0.7" }));
        assert.strictEqual(await main(["--cases", "key", "--thresholds", file]), 2);
        assert.match(stderr, new RegExp(`npm run bench: ${file.replace(/[.]/g, "\\.")}: unknown metric "optimized/naïve"; allowed: `));
    });

    it("exits 2 on a thresholds file that is not JSON", async () => {
        const file = path.join(dir, "bad.json");
        fs.writeFileSync(file, "{ p50<=0.7");
        assert.strictEqual(await main(["--cases", "key", "--thresholds", file]), 2);
        assert.match(stderr, /bad\.json: .*JSON/);
    });

    it("prints the usage for --help and exits 0", async () => {
        assert.strictEqual(await main(["--help"]), 0);
        assert.match(stdout, /^usage: npm run bench -- \[options\]/);
    });
});
