import * as assert from "assert";
import { execFileSync } from "child_process";
import { shellQuote } from "../../components/stageScript";

describe("stage script variables", () => {
    it("reach bash byte for byte, however hostile the value", () => {
        for (const value of ["plain", "it's", "$(touch /tmp/pwned)", "`id`", "a\nb", "\"double\" 'single' \\back", "*?[x]", ""]) {
            const out = execFileSync("bash", ["-c", `X=${shellQuote(value)}\nprintf %s "$X"`], { encoding: "utf8" });
            assert.strictEqual(out, value);
        }
    });
});
