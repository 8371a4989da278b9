// What every stage's remote.Command is given: the host-side time limit in its command,
// the same number as its customTimeouts.create, and no previous output sent as SSH env.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { parseConfig } from "../../components/config";
import { stageCommand } from "../../components/stageCommand";
import { STAGE_NAMES, STAGE_TIMEOUT_SECONDS, StageName } from "../../components/stages";
import { Workstation } from "../../components/workstation";
import { registrations, settle } from "./mocks";
import { stackValues } from "./program";

interface Seen {
    create: unknown;
    addPreviousOutputInEnv: unknown;
    customTimeouts: pulumi.CustomTimeouts | undefined;
}

/** Builds a Workstation with every stage and records each command's inputs and options. */
async function stageCommands(): Promise<Map<StageName, Seen>> {
    const values = stackValues("dev", {
        ides: ["vscode", "cursor", "antigravity"],
        desktop: true,
        dotfiles: { url: "https://example.com/me/dotfiles.git" },
    });
    const config = parseConfig((k) => values[`workstation:${k}`], "dev");
    const seen = new Map<StageName, Seen>();
    registrations.length = 0;
    new Workstation(
        "bound",
        { config, stack: "dev" },
        {
            transformations: [
                (args) => {
                    if (args.type === "command:remote:Command") {
                        seen.set(args.name.slice("bound-".length) as StageName, {
                            create: args.props.create,
                            addPreviousOutputInEnv: args.props.addPreviousOutputInEnv,
                            customTimeouts: args.opts.customTimeouts,
                        });
                    }
                    return undefined;
                },
            ],
        },
    );
    await settle();
    return seen;
}

describe("provisioning stage commands", () => {
    let seen: Map<StageName, Seen>;
    before(async () => {
        seen = await stageCommands();
    });

    it("has a stage command for each stage, the optional dotfiles included", () => {
        assert.deepStrictEqual([...seen.keys()].sort(), [...STAGE_NAMES].sort());
    });

    it("bounds every stage on the host by its timeout, and gives the provider the same timeout", () => {
        for (const stage of STAGE_NAMES) {
            const limit = STAGE_TIMEOUT_SECONDS[stage];
            const { create, customTimeouts } = seen.get(stage)!;
            assert.strictEqual(create, stageCommand(stage, limit), stage);
            assert.match(String(create), new RegExp(`^sudo -n bash -c '.*' stage-bound ${stage} ${limit} 10$`, "s"), stage);
            assert.deepStrictEqual(customTimeouts, { create: `${limit}s` }, stage);
        }
        assert.strictEqual(STAGE_TIMEOUT_SECONDS["wait-ready"], 900, "wait-ready covers a droplet's first boot");
        assert.strictEqual(STAGE_TIMEOUT_SECONDS.desktop, 1800);
    });

    it("never sends the previous stdout and stderr as SSH environment variables", () => {
        for (const stage of STAGE_NAMES) {
            assert.strictEqual(seen.get(stage)!.addPreviousOutputInEnv, false, stage);
        }
    });
});
