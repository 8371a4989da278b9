import * as assert from "assert";
import { firewallNoRemoteDesktopPorts, firewallSshNotWorldOpen, firewallSshNotWorldOpenProd } from "../../policies/firewall";
import { checkResource, firewall } from "./helpers";

const sshFromOffice = { protocol: "tcp", portRange: "22", sourceAddresses: ["203.0.113.0/24"] };
const sshFromWorld = { protocol: "tcp", portRange: "22", sourceAddresses: ["0.0.0.0/0", "::/0"] };
const ping = { protocol: "icmp", sourceAddresses: ["0.0.0.0/0", "::/0"] };

describe("firewall-no-remote-desktop-ports", () => {
    const tunnel = "never expose RDP or VNC; tunnel it over SSH (ssh -L 3389:localhost:3389).";
    it("passes SSH and ICMP only", async () => {
        assert.deepStrictEqual(await checkResource(firewallNoRemoteDesktopPorts, firewall([sshFromWorld, ping])), { violations: [] });
    });
    it("rejects RDP to the world, over TCP and over UDP", async () => {
        const rules = [
            { protocol: "tcp", portRange: "3389", sourceAddresses: ["0.0.0.0/0"] },
            { protocol: "udp", portRange: "3389", sourceAddresses: ["::/0"] },
        ];
        const { violations } = await checkResource(firewallNoRemoteDesktopPorts, firewall(rules));
        assert.deepStrictEqual(violations, [
            `Firewall "ws-firewall" opens tcp 3389 to 0.0.0.0/0, overlapping remote-desktop ports 3389: ${tunnel}`,
            `Firewall "ws-firewall" opens udp 3389 to ::/0, overlapping remote-desktop ports 3389: ${tunnel}`,
        ]);
    });
    it("rejects a range that overlaps VNC, even from a private source", async () => {
        const rules = [{ protocol: "tcp", portRange: "5905-6000", sourceAddresses: ["10.0.0.0/8"] }];
        const { violations } = await checkResource(firewallNoRemoteDesktopPorts, firewall(rules));
        assert.deepStrictEqual(violations, [`Firewall "ws-firewall" opens tcp 5905-6000 to 10.0.0.0/8, overlapping remote-desktop ports 5900-5910: ${tunnel}`]);
    });
    it("rejects all ports to other droplets", async () => {
        const rules = [{ protocol: "tcp", portRange: "all", sourceTags: ["ws"] }];
        const { violations } = await checkResource(firewallNoRemoteDesktopPorts, firewall(rules));
        assert.deepStrictEqual(violations, [
            `Firewall "ws-firewall" opens tcp all ports to its sources, overlapping remote-desktop ports 3389, 5800-5810, 5900-5910: ${tunnel}`,
        ]);
    });
    it("passes a port next to a forbidden range", async () => {
        const rules = [{ protocol: "tcp", portRange: "5911-5920", sourceAddresses: ["0.0.0.0/0"] }];
        assert.deepStrictEqual(await checkResource(firewallNoRemoteDesktopPorts, firewall(rules)), { violations: [] });
    });
    it("takes the forbidden ranges from the policy config", async () => {
        const config = { "firewall-no-remote-desktop-ports": { forbiddenPortRanges: ["8080"] } };
        const rules = [
            { protocol: "tcp", portRange: "3389", sourceAddresses: ["0.0.0.0/0"] },
            { protocol: "tcp", portRange: "8000-9000", sourceAddresses: ["0.0.0.0/0"] },
        ];
        const { violations } = await checkResource(firewallNoRemoteDesktopPorts, firewall(rules), config);
        assert.deepStrictEqual(violations, [`Firewall "ws-firewall" opens tcp 8000-9000 to 0.0.0.0/0, overlapping remote-desktop ports 8080: ${tunnel}`]);
    });
});

describe("firewall-ssh-not-world-open (outside prod)", () => {
    it("passes SSH from a known CIDR", async () => {
        assert.deepStrictEqual(await checkResource(firewallSshNotWorldOpen, firewall([sshFromOffice, ping])), { violations: [] });
    });
    it("flags SSH open to the world", async () => {
        const { violations } = await checkResource(firewallSshNotWorldOpen, firewall([sshFromWorld]));
        assert.deepStrictEqual(violations, [
            'Firewall "ws-firewall" opens SSH (tcp 22) to 0.0.0.0/0, ::/0: restrict sourceAddresses to the CIDRs you connect from.',
        ]);
    });
    it("leaves the prod stack to the prod rule", async () => {
        const outcome = await checkResource(firewallSshNotWorldOpen, firewall([sshFromWorld], { stack: "prod" }));
        assert.deepStrictEqual(outcome, { violations: [], notApplicable: "prod stack: firewall-ssh-not-world-open-prod applies" });
    });
});

describe("firewall-ssh-not-world-open-prod", () => {
    it("rejects SSH open to the world in the prod stack, also through a wide range", async () => {
        const rules = [{ protocol: "tcp", portRange: "1-1024", sourceAddresses: ["::/0"] }];
        const { violations } = await checkResource(firewallSshNotWorldOpenProd, firewall(rules, { stack: "prod" }));
        assert.deepStrictEqual(violations, [
            'Firewall "ws-firewall" opens SSH (tcp 1-1024) to ::/0 in a prod stack: restrict sourceAddresses to the CIDRs you connect from.',
        ]);
    });
    it("applies to a firewall that targets environment:prod droplets in any stack", async () => {
        const { violations } = await checkResource(firewallSshNotWorldOpenProd, firewall([sshFromWorld], {}, ["environment:prod"]));
        assert.strictEqual(violations.length, 1);
    });
    it("passes SSH from a known CIDR in prod and does not apply to dev", async () => {
        assert.deepStrictEqual(await checkResource(firewallSshNotWorldOpenProd, firewall([sshFromOffice], { stack: "prod" })), { violations: [] });
        assert.strictEqual(
            (await checkResource(firewallSshNotWorldOpenProd, firewall([sshFromWorld]))).notApplicable,
            "not a prod stack: firewall-ssh-not-world-open applies",
        );
    });
});
