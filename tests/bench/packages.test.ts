import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { allPackages, packageSet, parseBashArray, PROVISIONING_DIR, STAGE_PACKAGE_ARRAYS, stagePackages } from "../../tools/bench/packages";

// Every `ws_apt_install ARGS` call in the provisioning scripts, its arguments as written.
function aptInstallCalls(): { script: string; args: string[] }[] {
    const out: { script: string; args: string[] }[] = [];
    for (const script of fs.readdirSync(PROVISIONING_DIR).filter((f) => f.endsWith(".sh") && f !== "lib.sh")) {
        const text = fs.readFileSync(path.join(PROVISIONING_DIR, script), "utf8");
        for (const m of text.matchAll(/^\s*ws_apt_install\s+([^\n#;|&]+)/gm)) out.push({ script, args: m[1].trim().split(/\s+/) });
    }
    return out;
}

describe("bench package set", () => {
    it("parses readonly bash arrays, comments and line breaks included", () => {
        const text = "x=1\nreadonly PKGS=(a b\n  c-d # comment (x)\n  e+f)\nother=(z)\n";
        assert.deepStrictEqual(parseBashArray(text, "PKGS"), ["a", "b", "c-d", "e+f"]);
        assert.deepStrictEqual(parseBashArray(text, "other"), ["z"]);
        assert.throws(() => parseBashArray(text, "MISSING", "provisioning/x.sh"), /provisioning\/x.sh: no array MISSING=\(\.\.\.\) found/);
        assert.throws(() => parseBashArray('readonly P=("$X")', "P"), /not a plain Debian package name/);
    });

    it("covers every package the provisioning scripts install with ws_apt_install", () => {
        const arrays = new Map(STAGE_PACKAGE_ARRAYS.map((a) => [a.array, a.script]));
        const set = new Set(stagePackages().flatMap((s) => s.packages));
        const calls = aptInstallCalls();
        assert.ok(calls.length >= 4, `expected the stages' ws_apt_install calls, found ${calls.length}`);
        // Installs the bench need not count: home-volume.sh installs e2fsprogs only where the
        // image lacks mkfs.ext4 (cloud images have it; the minimal test host does not).
        const conditional = new Map([["home-volume.sh", "HV_PACKAGES"]]);
        for (const { script, args } of calls) {
            if (conditional.has(script)) {
                assert.deepStrictEqual(args, [`"\${${conditional.get(script)}[@]}"`], `${script}: only its conditional array`);
                continue;
            }
            for (const arg of args) {
                const ref = /^"\$\{(\w+)\[@\]\}"$/.exec(arg);
                if (ref) {
                    assert.strictEqual(
                        arrays.get(ref[1]),
                        script,
                        `${script} installs \${${ref[1]}[@]}: add it to STAGE_PACKAGE_ARRAYS in tools/bench/packages.ts`,
                    );
                } else {
                    assert.ok(set.has(arg), `${script} installs ${arg}, which the bench's package set lacks`);
                }
            }
        }
    });

    it("takes the IDE packages from the sources the program uses (ide.sh installs WS_IDE_PACKAGE)", () => {
        const ide = fs.readFileSync(path.join(PROVISIONING_DIR, "ide.sh"), "utf8");
        assert.match(ide, /ws_apt_get "\$\{opts\[@\]\}" download "\$WS_IDE_PACKAGE"/);
        const set = packageSet([
            { ide: "vscode", package: "code" },
            { ide: "cursor", package: "cursor" },
        ]);
        assert.deepStrictEqual(
            set.stages.map((s) => s.stage),
            ["system-prep", "desktop", "harden"],
        );
        const all = allPackages(set);
        assert.deepStrictEqual(all.slice(-2), ["code", "cursor"]);
        assert.strictEqual(new Set(all).size, all.length, "each package once");
        for (const p of ["xfce4", "xrdp", "eatmydata", "fail2ban"]) assert.ok(all.includes(p), p);
    });
});
