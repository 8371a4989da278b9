// provisioning/dotfiles.sh against real git repositories on this machine (the URL is a
// local path, which git clones like any other). The stage runs as the current user here.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { assemble, lastTiming, readScript, result, runBash, tempDir } from "./helpers";

interface DotfilesResult {
    head: string | null;
    method: string | null;
    changed: boolean;
    failure: { step: string; exitCode: number; tail: string } | null;
}

function git(dir: string, ...args: string[]): string {
    return execFileSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main", ...args], {
        encoding: "utf8",
    });
}

/** A repository with these files (path → [content, executable]), committed. */
function repoWith(files: Record<string, [string, boolean]>): string {
    const dir = tempDir("dotfiles-repo");
    git(dir, "init", "--quiet");
    commit(dir, files);
    return dir;
}

function commit(dir: string, files: Record<string, [string, boolean]>): void {
    for (const [file, [content, exec]] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), content, { mode: exec ? 0o755 : 0o644 });
    }
    git(dir, "add", "-A");
    git(dir, "commit", "--quiet", "-m", "change");
}

function runStage(repo: string, home: string, varDir: string, extra: Record<string, string> = {}) {
    const res = runBash(
        assemble(
            {
                WS_STAGE: "dotfiles",
                WS_USERNAME: os.userInfo().username,
                WS_LOG_DIR: path.join(varDir, "log"),
                WS_VAR_DIR: varDir,
                WS_DOTFILES_URL: repo,
                WS_DOTFILES_HOME: home,
                ...extra,
            },
            readScript("dotfiles.sh"),
        ),
    );
    assert.equal(res.code, 0, res.stderr);
    return { ...res, timing: lastTiming(res.stdout), result: result<DotfilesResult>(res.stdout) };
}

const INSTALL = `#!/bin/bash\nset -e\necho "run $(pwd) as $USER" >> "$HOME/installed-by-dotfiles"\n`;

describe("dotfiles.sh", function () {
    this.timeout(30000);

    it("clones into ~/.dotfiles and runs install.sh there as the user, with HOME set", () => {
        const repo = repoWith({ "install.sh": [INSTALL, true], "setup.sh": ["exit 9", true] });
        const home = tempDir("dotfiles-home");
        const r = runStage(repo, home, tempDir("dotfiles-var"));
        assert.equal(r.timing.status, "ok");
        assert.equal(r.result.method, "install.sh");
        assert.equal(r.result.failure, null);
        assert.equal(r.result.head, git(repo, "rev-parse", "HEAD").trim());
        assert.equal(fs.readFileSync(path.join(home, "installed-by-dotfiles"), "utf8"), `run ${path.join(home, ".dotfiles")} as ${os.userInfo().username}\n`);
    });

    it("skips a re-run when nothing changed, and pulls and installs again when the repository did", () => {
        const repo = repoWith({ "install.sh": [INSTALL, true] });
        const home = tempDir("dotfiles-home");
        const varDir = tempDir("dotfiles-var");
        runStage(repo, home, varDir);
        const again = runStage(repo, home, varDir);
        assert.equal(again.timing.status, "skipped");
        assert.equal(again.result.changed, false);
        assert.equal(fs.readFileSync(path.join(home, "installed-by-dotfiles"), "utf8").split("\n").length - 1, 1);
        commit(repo, { README: ["new", false] });
        const changed = runStage(repo, home, varDir);
        assert.equal(changed.timing.status, "ok");
        assert.deepEqual(
            changed.timing.steps.map((s) => [s.name, s.status]),
            [
                ["git", "skipped"],
                ["pull", "ok"],
                ["install", "ok"],
            ],
        );
        assert.equal(changed.result.head, git(repo, "rev-parse", "HEAD").trim());
        assert.equal(fs.readFileSync(path.join(home, "installed-by-dotfiles"), "utf8").split("\n").length - 1, 2);
    });

    it("runs bootstrap in a script/ folder when there is no earlier candidate, even when not executable", () => {
        const repo = repoWith({ "script/bootstrap": [INSTALL, false], setup: ["exit 9", true] });
        const home = tempDir("dotfiles-home");
        const r = runStage(repo, home, tempDir("dotfiles-var"));
        assert.equal(r.result.method, "script/bootstrap");
        assert.ok(fs.existsSync(path.join(home, "installed-by-dotfiles")));
    });

    it("runs the configured install command instead of the scripts", () => {
        const repo = repoWith({ "install.sh": ["exit 9", true], "mine.sh": ['echo mine > "$HOME/mine"', false] });
        const home = tempDir("dotfiles-home");
        const r = runStage(repo, home, tempDir("dotfiles-var"), { WS_DOTFILES_INSTALL_COMMAND: "bash mine.sh" });
        assert.equal(r.result.method, "command");
        assert.equal(r.result.failure, null);
        assert.equal(fs.readFileSync(path.join(home, "mine"), "utf8"), "mine\n");
    });

    it("links the dotfiles into the home without an install script, keeping what was there", () => {
        const repo = repoWith({ ".vimrc": ["set nu", false], ".config/git/config": ["[user]", false], "README.md": ["x", false] });
        const home = tempDir("dotfiles-home");
        fs.writeFileSync(path.join(home, ".vimrc"), "old");
        const r = runStage(repo, home, tempDir("dotfiles-var"));
        assert.equal(r.result.method, "links");
        assert.equal(fs.readlinkSync(path.join(home, ".vimrc")), path.join(home, ".dotfiles", ".vimrc"));
        assert.equal(fs.readlinkSync(path.join(home, ".config")), path.join(home, ".dotfiles", ".config"));
        assert.equal(fs.readFileSync(path.join(home, ".vimrc.before-dotfiles"), "utf8"), "old");
        assert.equal(fs.existsSync(path.join(home, "README.md")), false);
        assert.equal(fs.existsSync(path.join(home, ".git")), false);
    });

    it("reports a failing install script with the tail of its output and does not fail, also on a re-run", () => {
        const repo = repoWith({ "install.sh": ["#!/bin/bash\necho preparing\necho 'boom: no such plugin' >&2\nexit 3\n", true] });
        const home = tempDir("dotfiles-home");
        const varDir = tempDir("dotfiles-var");
        const r = runStage(repo, home, varDir);
        assert.equal(r.timing.status, "ok");
        assert.deepEqual(r.result.failure, { step: "install.sh", exitCode: 3, tail: "preparing\nboom: no such plugin" });
        const again = runStage(repo, home, varDir);
        assert.equal(again.timing.status, "skipped");
        assert.deepEqual(again.result.failure, r.result.failure);
    });

    it("reports a clone that fails, naming the URL, and does not fail", () => {
        const home = tempDir("dotfiles-home");
        const r = runStage(path.join(tempDir("dotfiles-none"), "missing.git"), home, tempDir("dotfiles-var"));
        assert.match(r.result.failure!.step, /^git clone .*missing\.git$/);
        assert.equal(r.result.failure!.exitCode, 128);
        assert.match(r.result.failure!.tail, /does not exist|not a git repository|Could not read/);
        assert.equal(r.result.head, null);
    });

    it("follows the configured branch", () => {
        const repo = repoWith({ "install.sh": ["exit 9", true] });
        git(repo, "checkout", "--quiet", "-b", "work");
        commit(repo, { "install.sh": [INSTALL, true] });
        git(repo, "checkout", "--quiet", "main");
        const home = tempDir("dotfiles-home");
        const r = runStage(repo, home, tempDir("dotfiles-var"), { WS_DOTFILES_BRANCH: "work" });
        assert.equal(r.result.failure, null);
        assert.equal(r.result.head, git(repo, "rev-parse", "work").trim());
    });
});
