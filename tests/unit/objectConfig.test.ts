// Object-valued keys declared in Pulumi.yaml (`type: object`, CLI 3.187+): their defaults
// and stack values reach the program as the CLI hands them over, through the one reader.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseConfig } from "../../components/config";
import { DEFAULT_STAGE_ESTIMATES } from "../../components/stages";
import { loadStackConfig } from "../../tools/shared/stackConfig";
import { REPO } from "./program";

function readers(dir: string, stack: string): [string, Record<string, string>][] {
    return [["tools/shared/stackConfig", loadStackConfig(dir, stack).values]];
}

describe("object config declared in Pulumi.yaml", () => {
    it("gives the program Pulumi.yaml's object defaults when the stack sets none", () => {
        for (const [reader, values] of readers(REPO, "dev")) {
            assert.deepStrictEqual(JSON.parse(values["workstation:stageEstimates"]), DEFAULT_STAGE_ESTIMATES, reader);
            assert.strictEqual(values["workstation:baseline"], "{}", reader);
            const config = parseConfig((k) => values[`workstation:${k}`], "dev");
            assert.deepStrictEqual(config.stageEstimates, DEFAULT_STAGE_ESTIMATES, reader);
            assert.deepStrictEqual(config.baseline, {}, reader);
        }
    });

    it("lets a stack's mapping replace the default, as the CLI does, and the program fills the stages left out", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-objcfg-"));
        try {
            fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
            fs.writeFileSync(
                path.join(dir, "Pulumi.t.yaml"),
                "config:\n  workstation:stageEstimates:\n    desktop: 300\n  workstation:baseline:\n    desktop: 200\n    ide-vscode: 80\n",
            );
            for (const [reader, values] of readers(dir, "t")) {
                assert.strictEqual(values["workstation:stageEstimates"], '{"desktop":300}', reader);
                assert.strictEqual(values["workstation:baseline"], '{"desktop":200,"ide-vscode":80}', reader);
                const config = parseConfig((k) => values[`workstation:${k}`], "t");
                assert.deepStrictEqual(config.stageEstimates, { ...DEFAULT_STAGE_ESTIMATES, desktop: 300 }, reader);
                assert.deepStrictEqual(config.baseline, { desktop: 200, "ide-vscode": 80 }, reader);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
