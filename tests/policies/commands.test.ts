import * as assert from "assert";
import * as proxy from "@pulumi/policy/proxy";
import { remoteCommandSecretsNotLogged } from "../../policies/commands";
import { checkResource, command } from "./helpers";

const unknownString = (proxy as unknown as Record<string, unknown>).unknownStringValue;
const fix = 'set logging: "none" so that the secret never reaches the logs.';

describe("remote-command-secrets-not-logged", () => {
    it("passes system-prep with logging none", async () => {
        const prep = command("ws-system-prep", { stdin: "WS_PASSWORD='x'\n...", logging: "none" });
        assert.deepStrictEqual(await checkResource(remoteCommandSecretsNotLogged, prep), { violations: [] });
    });
    it("rejects system-prep that logs, naming why it counts as secret", async () => {
        const prep = command("ws-system-prep", { stdin: "WS_PASSWORD='x'\n..." });
        const { violations } = await checkResource(remoteCommandSecretsNotLogged, prep);
        assert.deepStrictEqual(violations, [
            `Command "ws-system-prep" handles secrets (stage system-prep; stdin sets WS_PASSWORD=) but logging is unset (stdoutAndStderr): ${fix}`,
        ]);
    });
    it("still checks system-prep during preview, when its script is not known yet", async () => {
        const prep = command("ws-system-prep", { stdin: unknownString, logging: "stdout" });
        const { violations } = await checkResource(remoteCommandSecretsNotLogged, prep);
        assert.deepStrictEqual(violations, [`Command "ws-system-prep" handles secrets (stage system-prep) but logging is "stdout": ${fix}`]);
    });
    it("rejects any stage whose script sets WS_PASSWORD=", async () => {
        const desktop = command("ws-desktop", { create: "WS_PASSWORD=abc bash -s", logging: "stdoutAndStderr" });
        const { violations } = await checkResource(remoteCommandSecretsNotLogged, desktop);
        assert.deepStrictEqual(violations, [`Command "ws-desktop" handles secrets (create sets WS_PASSWORD=) but logging is "stdoutAndStderr": ${fix}`]);
    });
    it("rejects a stage marked secret through additionalSecretOutputs", async () => {
        const report = command("ws-report", { logging: "stdout" }, { additionalSecretOutputs: ["stdout", "stderr"] });
        const { violations } = await checkResource(remoteCommandSecretsNotLogged, report);
        assert.deepStrictEqual(violations, [`Command "ws-report" handles secrets (stdout and stderr marked secret) but logging is "stdout": ${fix}`]);
    });
    it("passes an ordinary stage that logs", async () => {
        const verify = command("ws-verify", { stdin: "systemctl is-active xrdp", logging: "stdoutAndStderr" });
        assert.deepStrictEqual(await checkResource(remoteCommandSecretsNotLogged, verify), { violations: [] });
    });
    it("takes stages and markers from the policy config", async () => {
        const config = { "remote-command-secrets-not-logged": { secretStages: ["monitor"], secretMarkers: ["API_TOKEN="] } };
        const monitor = command("ws-monitor", { stdin: "API_TOKEN=x" });
        const { violations } = await checkResource(remoteCommandSecretsNotLogged, monitor, config);
        assert.deepStrictEqual(violations, [
            `Command "ws-monitor" handles secrets (stage monitor; stdin sets API_TOKEN=) but logging is unset (stdoutAndStderr): ${fix}`,
        ]);
        const prep = command("ws-system-prep", { stdin: "echo hi" });
        assert.deepStrictEqual(await checkResource(remoteCommandSecretsNotLogged, prep, config), { violations: [] });
    });
});
