import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildStandinDotfiles, serveStandinDotfiles, standinDotfilesUrl } from "../../tools/local/standinDotfiles";

describe("stand-in dotfiles repository", () => {
    it("builds a bare repository for dumb HTTP with an executable install.sh, the same commit every time", () => {
        const heads = [0, 1].map(() => {
            const root = fs.mkdtempSync(path.join(os.tmpdir(), "ws-dotfiles-test-"));
            const bare = buildStandinDotfiles(root);
            assert.ok(fs.existsSync(path.join(bare, "info", "refs")), "no info/refs: update-server-info did not run");
            const mode = execFileSync("git", ["-C", bare, "ls-tree", "HEAD", "install.sh"], { encoding: "utf8" }).split(" ")[0];
            assert.strictEqual(mode, "100755");
            const head = execFileSync("git", ["-C", bare, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
            fs.rmSync(root, { recursive: true, force: true });
            return head;
        });
        assert.strictEqual(heads[0], heads[1]);
    });

    it("is served on a test host's gateway only, at a URL known from the gateway", async () => {
        assert.strictEqual(standinDotfilesUrl("10.213.7.1", 8743), "http://10.213.7.1:8743/dotfiles.git");
        for (const ip of ["0.0.0.0", "127.0.0.1", "10.213.7.2"]) {
            await assert.rejects(
                serveStandinDotfiles(ip, 8743),
                new RegExp(`served on a test host's gateway \\(10\\.213\\.N\\.1\\) only, got '${ip.replace(/\./g, "\\.")}'`),
            );
        }
    });
});
