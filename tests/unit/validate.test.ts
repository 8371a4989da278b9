import * as assert from "assert";
import { cidrProblem, isCidr, parseCidr, parsePublicKey, quote, sameCidr, samePublicKey, textProblem, usernameProblem } from "../../components/validate";
import { ED25519_KEY, keyLine, rsaKey } from "./sshKeys";

const P256_POINT = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]);

describe("text rules shared by every value", () => {
    it("refuses line breaks of every kind, control and invisible characters, surrounding space", () => {
        assert.strictEqual(textProblem("a\nb"), "it spans several lines");
        assert.strictEqual(textProblem("a\r"), "it spans several lines");
        assert.strictEqual(textProblem("a\u2028b"), "it spans several lines");
        assert.strictEqual(textProblem("a\u0085b"), "it spans several lines");
        assert.strictEqual(textProblem("a\u0007b"), "it contains the control character U+0007");
        assert.strictEqual(textProblem("a\u007fb"), "it contains the control character U+007F");
        assert.strictEqual(textProblem("a\u200bb"), "it contains the invisible character U+200B");
        assert.strictEqual(textProblem("a\u202eb"), "it contains the invisible character U+202E");
        assert.strictEqual(textProblem("a\u00a0b"), "it contains the invisible character U+00A0");
        assert.strictEqual(textProblem(" a"), "it has leading or trailing whitespace");
        assert.strictEqual(textProblem("a "), "it has leading or trailing whitespace");
        assert.strictEqual(textProblem("café"), "it contains the non-ASCII character U+00E9 (é)");
        assert.strictEqual(textProblem("café", { ascii: false }), undefined);
        assert.strictEqual(textProblem(""), "");
        assert.strictEqual(textProblem("", { allowEmpty: true }), undefined);
        assert.strictEqual(textProblem("a b"), undefined);
    });

    it("shows invisible characters escaped in messages", () => {
        assert.strictEqual(quote("a\u2028b\u200b"), String.raw`"a\u2028b\u200b"`);
        assert.strictEqual(quote("a\nb"), String.raw`"a\nb"`);
        assert.strictEqual(quote(Infinity), "Infinity");
        assert.strictEqual(quote(["x"]), `["x"]`);
    });
});

describe("CIDRs", () => {
    it("accepts networks in both families and gives their canonical form", () => {
        for (const [value, canonical] of [
            ["0.0.0.0/0", "0.0.0.0/0"],
            ["203.0.113.0/24", "203.0.113.0/24"],
            ["203.0.113.7/32", "203.0.113.7/32"],
            ["::/0", "::/0"],
            ["2001:DB8::/32", "2001:db8::/32"],
            ["2001:0db8:0000::/48", "2001:db8::/48"],
            ["2001:db8:0:0:1:0:0:0/96", "2001:db8:0:0:1::/96"],
            ["2001:db8:0:0:1:0:0:1/128", "2001:db8::1:0:0:1/128"],
            ["::ffff:192.0.2.0/120", "::ffff:c000:200/120"],
            ["fe80::/10", "fe80::/10"],
            ["2001:db8::1/128", "2001:db8::1/128"],
        ]) {
            const parsed = parseCidr(value);
            assert.ok("cidr" in parsed, `${value}: ${"refusal" in parsed ? parsed.refusal : ""}`);
            assert.strictEqual(parsed.cidr.canonical, canonical, value);
            assert.strictEqual(sameCidr(value), canonical, value);
            assert.ok(isCidr(value), value);
        }
    });

    it("refuses host bits, bare addresses, zones, long or padded prefixes, saying why", () => {
        const cases: [string, string][] = [
            ["10.0.0.1/8", "host bits are set; the network is 10.0.0.0/8, the one address 10.0.0.1/32"],
            ["203.0.113.7/24", "host bits are set; the network is 203.0.113.0/24, the one address 203.0.113.7/32"],
            ["2001:db8::1/32", "host bits are set; the network is 2001:db8::/32, the one address 2001:db8::1/128"],
            ["203.0.113.7", "it has no prefix length; for this one address write 203.0.113.7/32"],
            ["2001:db8::1", "it has no prefix length; for this one address write 2001:db8::1/128"],
            ["10.0.0.0/33", "an IPv4 prefix length is at most 32"],
            ["::/129", "an IPv6 prefix length is at most 128"],
            ["10.0.0.0/08", "the prefix length is not a plain decimal number"],
            ["10.0.0.0/+8", "the prefix length is not a plain decimal number"],
            ["fe80::%eth0/64", "an IPv6 zone (%…) has no meaning to a firewall"],
            ["010.0.0.0/8", ""],
            ["10.0.0/8", ""],
            ["10.0.0.0/8/8", ""],
            ["my-office", ""],
            ["10.0.0.0/8 ", "it has leading or trailing whitespace"],
            ["10.0.0.0/8\n", "it spans several lines"],
        ];
        for (const [value, reason] of cases) {
            assert.strictEqual(cidrProblem(value), reason, value);
            assert.ok(!isCidr(value), value);
        }
    });
});

describe("OpenSSH public keys", () => {
    it("accepts well-formed keys of every type sshd takes", () => {
        const keys = [
            ED25519_KEY,
            rsaKey(1024),
            rsaKey(4096),
            keyLine("ecdsa-sha2-nistp256", [Buffer.from("nistp256"), P256_POINT]),
            keyLine("ecdsa-sha2-nistp384", [Buffer.from("nistp384"), Buffer.concat([Buffer.from([4]), Buffer.alloc(96, 3)])]),
            keyLine("sk-ssh-ed25519@openssh.com", [Buffer.alloc(32, 1), Buffer.from("ssh:")]),
            keyLine("sk-ecdsa-sha2-nistp256@openssh.com", [Buffer.from("nistp256"), P256_POINT, Buffer.from("ssh:")]),
            keyLine("ssh-ed25519", [Buffer.alloc(32, 9)], "Zoë's laptop, 2026"),
            keyLine("ssh-ed25519", [Buffer.alloc(32, 9)], "").trimEnd(),
        ];
        for (const key of keys) assert.ok("blob" in parsePublicKey(key), `${key}: ${JSON.stringify(parsePublicKey(key))}`);
    });

    it("refuses what sshd would not read, saying why", () => {
        const ed = ED25519_KEY.split(" ")[1];
        const cases: [string, string][] = [
            [rsaKey(768), "the RSA key has 768 bits; sshd requires at least 1024"],
            [keyLine("ssh-dss", [Buffer.alloc(20)]), "DSA keys are no longer accepted by OpenSSH"],
            [keyLine("ssh-ed25519-cert-v01@openssh.com", [Buffer.alloc(32)]), "a certificate is not a key for authorized_keys"],
            [
                `from="203.0.113.0/24" ${ED25519_KEY}`,
                "the key type must be one of ssh-ed25519, sk-ssh-ed25519@openssh.com, ssh-rsa, " +
                    "ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, sk-ecdsa-sha2-nistp256@openssh.com, without options before it",
            ],
            [`ssh-rsa ${ed} x`, "the key data is of type ssh-ed25519, not ssh-rsa"],
            [keyLine("ssh-ed25519", [Buffer.alloc(31, 9)]), "the ed25519 key is not 32 bytes"],
            [`ssh-ed25519 ${ed.slice(0, 40)}`, "the key data is cut short"],
            [keyLine("ssh-ed25519", [Buffer.alloc(32, 9), Buffer.from("x")]), "the key data has trailing bytes"],
            [keyLine("ecdsa-sha2-nistp256", [Buffer.from("nistp384"), P256_POINT]), "the key names curve nistp384, not nistp256"],
            [keyLine("ecdsa-sha2-nistp256", [Buffer.from("nistp256"), Buffer.alloc(65, 2)]), "the nistp256 point is malformed"],
            ["ssh-ed25519", "the key data is not base64"],
            ["ssh-ed25519 not-base64!", "the key data is not base64"],
            [`${ED25519_KEY}\nssh-ed25519 ${ed} intruder`, "it spans several lines"],
            [`${ED25519_KEY}\r`, "it spans several lines"],
            [` ${ED25519_KEY}`, "it has leading or trailing whitespace"],
        ];
        for (const [value, reason] of cases) {
            const parsed = parsePublicKey(value);
            assert.deepStrictEqual(parsed, { refusal: reason }, value);
        }
    });

    it("knows a key by its blob, whatever the comment", () => {
        assert.strictEqual(
            samePublicKey(keyLine("ssh-ed25519", [Buffer.alloc(32, 9)], "a")),
            samePublicKey(keyLine("ssh-ed25519", [Buffer.alloc(32, 9)], "b")),
        );
        assert.notStrictEqual(samePublicKey(keyLine("ssh-ed25519", [Buffer.alloc(32, 9)])), samePublicKey(keyLine("ssh-ed25519", [Buffer.alloc(32, 8)])));
    });
});

describe("user names", () => {
    it("refuses names useradd, adduser or cloud-init would not take, and taken ones", () => {
        assert.deepStrictEqual(usernameProblem("a".repeat(33)), { refusal: "it has 33 characters; at most 32 are allowed" });
        assert.strictEqual(usernameProblem("a".repeat(32)), undefined);
        assert.deepStrictEqual(usernameProblem("_svc"), { refusal: "" });
        assert.deepStrictEqual(usernameProblem("-dev"), { refusal: "" });
        assert.deepStrictEqual(usernameProblem("1dev"), { refusal: "" });
        assert.deepStrictEqual(usernameProblem("dev$"), { refusal: "" });
        assert.deepStrictEqual(usernameProblem("dev.user"), { refusal: "" });
        assert.deepStrictEqual(usernameProblem("Dev"), { refusal: "it has upper-case letters" });
        for (const taken of ["root", "sudo", "users", "adm", "staff", "nogroup", "xrdp", "polkitd", "ssl-cert", "debian", "systemd-journal"]) {
            assert.deepStrictEqual(usernameProblem(taken), { taken: "is reserved by the system" }, taken);
        }
        for (const word of ["yes", "no", "on", "off", "true", "false", "null"]) {
            assert.deepStrictEqual(usernameProblem(word), { taken: "would be read as a boolean or null in cloud-init's user data" }, word);
        }
        for (const fine of ["dev", "alice", "bob-2", "a_b", "x"]) assert.strictEqual(usernameProblem(fine), undefined, fine);
    });
});
