import * as assert from "assert";
import { checkLinksApplicable, DEFAULT_LINKS, LinkError, linkLabel, parseLink, parseLinks, tbfBurstBytes, tcCommands } from "../../tools/bench/link";

describe("bench link shaping (tc on the test host's veth pair)", () => {
    it("defaults to the shaped link and the unshaped one, shaped first", () => {
        assert.deepStrictEqual(parseLinks(DEFAULT_LINKS).map(linkLabel), ["200mbit", "none"]);
    });

    it("shapes both ends with tbf: the host side in the root namespace, eth0 in the host's netns", () => {
        assert.deepStrictEqual(tcCommands(parseLink("200mbit"), "wsth41", "wsth-bench-o1"), [
            ["qdisc", "replace", "dev", "wsth41", "root", "handle", "1:", "tbf", "rate", "200000000bit", "burst", "250000", "latency", "100ms"],
            [
                "-n",
                "wsth-bench-o1",
                "qdisc",
                "replace",
                "dev",
                "eth0",
                "root",
                "handle",
                "1:",
                "tbf",
                "rate",
                "200000000bit",
                "burst",
                "250000",
                "latency",
                "100ms",
            ],
        ]);
    });

    it("adds netem below tbf with half the round trip on each end when a delay is asked", () => {
        const cmds = tcCommands(parseLink("100mbit:20ms"), "wsth7", "wsth-x");
        assert.deepStrictEqual(
            cmds.map((c) => c.join(" ")),
            [
                "qdisc replace dev wsth7 root handle 1: tbf rate 100000000bit burst 125000 latency 100ms",
                "qdisc replace dev wsth7 parent 1:1 handle 10: netem delay 10ms",
                "-n wsth-x qdisc replace dev eth0 root handle 1: tbf rate 100000000bit burst 125000 latency 100ms",
                "-n wsth-x qdisc replace dev eth0 parent 1:1 handle 10: netem delay 10ms",
            ],
        );
    });

    it("removes the shaping of both ends for none", () => {
        assert.deepStrictEqual(tcCommands({ kind: "none" }, "wsth7", "wsth-x"), [
            ["qdisc", "del", "dev", "wsth7", "root"],
            ["-n", "wsth-x", "qdisc", "del", "dev", "eth0", "root"],
        ]);
    });

    it("sizes tbf's bucket to 10 ms of the rate, never below one 64 KiB GSO packet", () => {
        assert.strictEqual(tbfBurstBytes(10e6), 65536);
        assert.strictEqual(tbfBurstBytes(1e9), 1_250_000);
    });

    it("refuses a delay where the kernel has no netem, before anything boots, and names the rate-only flag", async () => {
        await assert.rejects(
            checkLinksApplicable(parseLinks("200mbit:20ms,none"), async () => false),
            (err: Error) => {
                assert.ok(err instanceof LinkError);
                assert.match(err.message, /^--link 200mbit:20ms: this kernel has no netem qdisc .* use --link 200mbit \(rate only/);
                return true;
            },
        );
        await checkLinksApplicable(parseLinks("200mbit:20ms"), async () => true);
        let probed = false;
        await checkLinksApplicable(parseLinks("200mbit,none"), async () => (probed = true));
        assert.strictEqual(probed, false, "no probe without a delay");
    });
});
