import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { utils } from "ssh2";
import { generateEd25519, generatePassword, md5Fingerprint } from "../../tools/local/keys";

describe("tools/local/keys", () => {
    it("generates an ED25519 key whose OpenSSH private key ssh2 parses and whose public half matches", () => {
        const key = generateEd25519();
        const priv = utils.parseKey(key.privateKeyOpenssh);
        assert.ok(!(priv instanceof Error), String(priv));
        const parsed = Array.isArray(priv) ? priv[0] : priv;
        assert.strictEqual(parsed.type, "ssh-ed25519");
        assert.strictEqual(parsed.getPublicSSH().toString("base64"), key.publicKeyOpenssh.split(" ")[1].trim());
        const data = Buffer.from("sign me");
        const sig = parsed.sign(data);
        const pub = utils.parseKey(key.publicKeyOpenssh);
        assert.ok(!(pub instanceof Error));
        assert.strictEqual((Array.isArray(pub) ? pub[0] : pub).verify(data, sig as Buffer), true);
        assert.match(key.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
        assert.match(key.publicKeyFingerprintMd5, /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
        assert.match(key.publicKeyFingerprintSha256, /^SHA256:[A-Za-z0-9+/]{43}$/);
    });

    it("computes the fingerprints that ssh-keygen prints for the same key", function () {
        const key = generateEd25519();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fp-"));
        try {
            const file = path.join(dir, "k.pub");
            fs.writeFileSync(file, key.publicKeyOpenssh);
            const md5 = execFileSync("ssh-keygen", ["-l", "-E", "md5", "-f", file], { encoding: "utf8" });
            const sha = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", file], { encoding: "utf8" });
            assert.strictEqual(md5.split(" ")[1], `MD5:${md5Fingerprint(key.publicKeyOpenssh)}`);
            assert.strictEqual(sha.split(" ")[1], key.publicKeyFingerprintSha256);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("makes passwords of the asked length from the asked classes", () => {
        for (let i = 0; i < 50; i++) {
            const pw = generatePassword({ length: 24, special: false });
            assert.strictEqual(pw.length, 24);
            assert.match(pw, /^[A-Za-z0-9]+$/);
        }
        const withMins = generatePassword({ length: 8, special: true, overrideSpecial: "#", minSpecial: 3, minNumeric: 2 });
        assert.strictEqual(withMins.replace(/[^#]/g, "").length >= 3, true);
        assert.strictEqual(withMins.replace(/[^0-9]/g, "").length >= 2, true);
        assert.throws(() => generatePassword({ length: 2, minUpper: 3 }), /minimums add up to 3, more than length 2/);
    });
});
