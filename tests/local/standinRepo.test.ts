// The stand-in IDE repository keeps its signing key per cache dir, as a vendor keeps its
// own: a host that trusted the key in a run stopped half-way (a fault, a cancelled job)
// still verifies the next run's build. A key per build failed such a --reuse run at the
// IDE stage's lists step ("Missing key ..., which is needed to verify signature").
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const SCRIPT = path.join(__dirname, "..", "..", "tools", "local", "standin-repo.sh");
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

(isRoot ? describe : describe.skip)("stand-in IDE repository: its signing key (root: installs the build tools)", function () {
    this.timeout(600_000);
    let dir = "";
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-standin-key-"))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("signs two builds with one key, which verifies the second build's InRelease", () => {
        for (const out of ["a", "b"]) execFileSync("bash", [SCRIPT, "build", path.join(dir, out)], { stdio: ["ignore", "ignore", "pipe"] });
        const key = (out: string) => fs.readFileSync(path.join(dir, out, "key.asc"), "utf8");
        assert.match(key("a"), /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
        assert.strictEqual(key("b"), key("a"));
        // gpg (in tools/setup.sh's list) with a home of its own that knows only build a's key.
        const home = path.join(dir, "gnupg");
        fs.mkdirSync(home, { mode: 0o700 });
        execFileSync("gpg", ["--homedir", home, "--batch", "--quiet", "--import", path.join(dir, "a", "key.asc")], { stdio: "ignore" });
        const verified = execFileSync("gpg", ["--homedir", home, "--batch", "--verify", path.join(dir, "b", "code", "dists", "stable", "InRelease")], {
            stdio: ["ignore", "pipe", "pipe"],
            encoding: "utf8",
        });
        assert.strictEqual(typeof verified, "string");
    });
});
