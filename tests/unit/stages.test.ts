// The stage descriptors (components/stages.ts) are the one place a stage's script,
// estimate, limit and IDE are stated; everything else derives from them.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { IDE_NAMES } from "../../components/ideSources";
import { DEFAULT_STAGE_ESTIMATES, INSTALL_STAGES, STAGES, STAGE_NAMES, STAGE_TIMEOUT_SECONDS, ideStage, stageGraph } from "../../components/stages";

const PROVISIONING = path.join(__dirname, "..", "..", "provisioning");

describe("stage descriptors", () => {
    it("describe every stage once, under its own name, with a script that exists", () => {
        assert.deepStrictEqual(Object.keys(STAGES), [...STAGE_NAMES]);
        for (const stage of STAGE_NAMES) {
            assert.strictEqual(STAGES[stage].name, stage);
            assert.ok(fs.existsSync(path.join(PROVISIONING, STAGES[stage].script)), `${stage}: provisioning/${STAGES[stage].script}`);
        }
    });

    it("give each IDE exactly one stage, and that stage its IDE back, all run by ide.sh", () => {
        for (const ide of IDE_NAMES) {
            const stage = ideStage(ide);
            assert.strictEqual(STAGES[stage].ide, ide);
            assert.strictEqual(STAGES[stage].script, "ide.sh");
        }
        assert.strictEqual(STAGE_NAMES.filter((s) => STAGES[s].ide !== undefined).length, IDE_NAMES.length);
    });

    it("are what the estimate, limit and install tables are read from", () => {
        for (const stage of STAGE_NAMES) {
            assert.strictEqual(DEFAULT_STAGE_ESTIMATES[stage], STAGES[stage].estimateSeconds);
            assert.strictEqual(STAGE_TIMEOUT_SECONDS[stage], STAGES[stage].timeoutSeconds);
        }
        assert.deepStrictEqual(INSTALL_STAGES, ["wait-ready", "system-prep", "desktop", "ide-vscode", "ide-cursor", "ide-antigravity", "monitor"]);
    });

    it("are what the graph is read from: each stage waits for its descriptor's stages that are there", () => {
        // The full selection: every stage waits for exactly what its descriptor says.
        const full = stageGraph(["vscode", "cursor", "antigravity"], true, { homeVolume: true, dotfiles: true });
        assert.deepStrictEqual(Object.keys(full).sort(), [...STAGE_NAMES].sort());
        for (const stage of STAGE_NAMES) assert.deepStrictEqual([...full[stage]!].sort(), [...STAGES[stage].after].sort(), stage);
        // A chain whose link is absent waits for what the link would have: system-prep after wait-ready.
        // A join waits for those there, the IDEs in the config's order.
        assert.deepStrictEqual(stageGraph(["cursor", "vscode"], false), {
            "wait-ready": [],
            "system-prep": ["wait-ready"],
            "ide-cursor": ["system-prep"],
            "ide-vscode": ["system-prep"],
            monitor: ["system-prep"],
            verify: ["ide-cursor", "ide-vscode", "monitor"],
            harden: ["verify"],
            report: ["harden"],
        });
    });
});
