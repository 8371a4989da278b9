import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PROVISIONING, assemble, runBash, tempDir } from "./helpers";

const scripts = fs
    .readdirSync(PROVISIONING)
    .filter((f) => f.endsWith(".sh"))
    .sort();

function shellcheck(args: string[], cwd: string): { code: number; output: string } {
    const res = spawnSync("shellcheck", args, { cwd, encoding: "utf8" });
    if (res.error) throw res.error;
    return { code: res.status ?? -1, output: `${res.stdout}${res.stderr}` };
}

describe("provisioning scripts: shellcheck", () => {
    it("has the shared lib, the stage time limit, the image generalisation and one script per stage", () => {
        assert.deepEqual(scripts, [
            "desktop.sh",
            "dotfiles.sh",
            "generalise.sh",
            "harden.sh",
            "home-volume.sh",
            "ide.sh",
            "lib.sh",
            "monitor.sh",
            "report.sh",
            "stage-bound.sh",
            "system-prep.sh",
            "verify.sh",
            "wait-ready.sh",
        ]);
    });

    for (const script of scripts) {
        it(`${script} is shellcheck-clean (shellcheck -x)`, () => {
            const { code, output } = shellcheck(["-x", script], PROVISIONING);
            assert.equal(code, 0, `shellcheck -x provisioning/${script}:\n${output}`);
        });
    }

    for (const [name, variable] of [
        ["sample-resources", "MN_SAMPLER_TEXT"],
        ["record-activity", "MN_RECORDER_TEXT"],
    ]) {
        it(`the ${name} script monitor.sh installs on the host is shellcheck-clean`, () => {
            const dir = tempDir("sampler");
            const out = path.join(dir, name);
            const res = runBash(
                assemble({ WS_NO_MAIN: "1" }, `${fs.readFileSync(path.join(PROVISIONING, "monitor.sh"), "utf8")}\nprintf '%s\\n' "$${variable}" >'${out}'`),
            );
            assert.equal(res.code, 0, res.stderr);
            const { code, output } = shellcheck([out], dir);
            assert.equal(code, 0, `shellcheck ${name}:\n${output}`);
        });
    }
});

describe("shell scripts: no early-exiting reader at the end of a pipe", () => {
    // Under pipefail, `cmd | grep -q X` or `cmd | head -n 1` may kill cmd with SIGPIPE
    // once the reader has what it needs, and the pipe then fails even though X was found.
    // That race added the test hosts' proxy address twice on a CI machine.
    const root = path.join(PROVISIONING, "..");
    const dirs = ["provisioning", "tools/local", "tools/bench", "tools", ".ci"];
    const files = dirs.flatMap((d) =>
        fs
            .readdirSync(path.join(root, d))
            .filter((f) => f.endsWith(".sh") || (d === ".ci" && f === "run"))
            .map((f) => path.join(d, f)),
    );
    const earlyReader = /\|\s*(grep\s+(-[A-Za-z]*q[A-Za-z]*\b|--quiet|-m\s*\d)|head\b)/;

    it("finds the scripts", () => assert.ok(files.length > 15, files.join(" ")));

    for (const file of files) {
        it(`${file} matches on captured output instead`, () => {
            const bad = fs
                .readFileSync(path.join(root, file), "utf8")
                .split("\n")
                .map((line, i) => ({ line, n: i + 1 }))
                .filter(({ line }) => !line.trimStart().startsWith("#") && earlyReader.test(line));
            assert.deepEqual(
                bad.map(({ n, line }) => `${file}:${n}: ${line.trim()}`),
                [],
            );
        });
    }
});
