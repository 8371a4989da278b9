import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { sshConfigBlock } from "../../components/sshConfig";
import { MOCK_IP, valueOf } from "./mocks";
import { runProgram, stackValues } from "./program";

/** What real `ssh -G` resolves for the alias from a config file holding only this block. */
function sshG(block: string, alias: string): Map<string, string[]> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-sshconfig-"));
    const file = path.join(dir, "config");
    fs.writeFileSync(file, block, { mode: 0o600 });
    // -G prints the resolved configuration and exits without connecting.
    const res = spawnSync("ssh", ["-G", "-F", file, alias], { encoding: "utf8", env: { ...process.env, HOME: dir } });
    fs.rmSync(dir, { recursive: true, force: true });
    assert.strictEqual(res.status, 0, `ssh -G failed: ${res.stderr}`);
    const out = new Map<string, string[]>();
    for (const line of res.stdout.split("\n")) {
        const [key, ...rest] = line.split(" ");
        if (key) out.set(key, [...(out.get(key) ?? []), rest.join(" ")]);
    }
    return out;
}

describe("sshConfig: the block editors read", () => {
    it("resolves with real ssh -G to the droplet, the user, the key, strict host keys, keep-alives and the RDP forward", () => {
        const block = sshConfigBlock({ stack: "dev", hostName: "10.213.9.2", user: "dev", desktop: true });
        const g = sshG(block, "workstation-dev");
        assert.deepStrictEqual(g.get("hostname"), ["10.213.9.2"]);
        assert.deepStrictEqual(g.get("user"), ["dev"]);
        assert.deepStrictEqual(g.get("identityfile"), ["~/.ssh/workstation-dev"]);
        assert.deepStrictEqual(g.get("identitiesonly"), ["yes"]);
        // ssh expands this path itself, from the account's home directory.
        assert.deepStrictEqual(g.get("userknownhostsfile"), [path.join(os.userInfo().homedir, ".ssh", "workstation-dev.known_hosts")]);
        assert.deepStrictEqual(g.get("stricthostkeychecking"), ["true"]);
        assert.deepStrictEqual(g.get("serveraliveinterval"), ["30"]);
        assert.deepStrictEqual(g.get("serveralivecountmax"), ["3"]);
        assert.deepStrictEqual(g.get("localforward"), ["3389 [127.0.0.1]:3389"]);
    });

    it("forwards nothing without the desktop, and other aliases do not match", () => {
        const block = sshConfigBlock({ stack: "staging", hostName: "10.213.9.2", user: "alice", desktop: false });
        const g = sshG(block, "workstation-staging");
        assert.strictEqual(g.get("localforward"), undefined);
        assert.deepStrictEqual(g.get("user"), ["alice"]);
        const other = sshG(block, "workstation-dev");
        assert.deepStrictEqual(other.get("hostname"), ["workstation-dev"]);
    });

    it("refuses a value that would break the block", () => {
        assert.throws(
            () => sshConfigBlock({ stack: "dev", hostName: "10.213.9.2\nProxyCommand x", user: "dev", desktop: false }),
            /sshConfigBlock: hostName "10.213.9.2\\nProxyCommand x" is not allowed; expected letters, digits, dots, colons, dashes or underscores/,
        );
    });

    it("is exported by the program for the stack's droplet, with the forward only when the desktop is on", async () => {
        const withDesktop = await runProgram(stackValues("dev"));
        assert.strictEqual(await valueOf(withDesktop.sshConfig), sshConfigBlock({ stack: "dev", hostName: MOCK_IP, user: "dev", desktop: true }));
        assert.match(String(await valueOf(withDesktop.sshConfig)), /^Host workstation-dev\n {4}HostName 203\.0\.113\.10\n/);
        const noDesktop = await runProgram(stackValues("dev", { desktop: false }));
        assert.doesNotMatch(String(await valueOf(noDesktop.sshConfig)), /LocalForward/);
    });
});
