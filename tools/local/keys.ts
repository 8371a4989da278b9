// Real key and password material for the tls and random mocks.
//
// An ED25519 key in every format the tls provider's PrivateKey outputs: OpenSSH
// private and public, PKCS#8 PEM, and the MD5 / SHA256 fingerprints of the public key.

import * as crypto from "crypto";

export interface KeyMaterial {
    privateKeyOpenssh: string;
    privateKeyPem: string;
    publicKeyOpenssh: string;
    publicKeyPem: string;
    publicKeyFingerprintMd5: string;
    publicKeyFingerprintSha256: string;
}

function sshString(data: Buffer | string): Buffer {
    const buf = typeof data === "string" ? Buffer.from(data, "latin1") : data;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length, 0);
    return Buffer.concat([len, buf]);
}

function uint32(n: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0, 0);
    return b;
}

/** The SSH wire-format public key blob of an ED25519 public key. */
function ed25519Blob(pub: Buffer): Buffer {
    return Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]);
}

/** MD5 fingerprint as DigitalOcean and `ssh-keygen -E md5` show it (colon-separated hex). */
export function md5Fingerprint(publicKeyOpenssh: string): string {
    const blob = Buffer.from(publicKeyOpenssh.trim().split(/\s+/)[1] ?? "", "base64");
    return crypto.createHash("md5").update(blob).digest("hex").match(/../g)!.join(":");
}

/** SHA256 fingerprint as `ssh-keygen -l` shows it. */
export function sha256Fingerprint(publicKeyOpenssh: string): string {
    const blob = Buffer.from(publicKeyOpenssh.trim().split(/\s+/)[1] ?? "", "base64");
    return "SHA256:" + crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/** Builds an unencrypted openssh-key-v1 private key from an ED25519 seed and public key. */
function opensshPrivateKey(seed: Buffer, pub: Buffer, comment: string): string {
    const check = crypto.randomBytes(4).readUInt32BE(0);
    let priv = Buffer.concat([
        uint32(check),
        uint32(check),
        sshString("ssh-ed25519"),
        sshString(pub),
        sshString(Buffer.concat([seed, pub])),
        sshString(comment),
    ]);
    const pad: number[] = [];
    for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
    priv = Buffer.concat([priv, Buffer.from(pad)]);
    const body = Buffer.concat([
        Buffer.from("openssh-key-v1\0", "latin1"),
        sshString("none"),
        sshString("none"),
        sshString(""),
        uint32(1),
        sshString(ed25519Blob(pub)),
        sshString(priv),
    ]);
    const b64 = body
        .toString("base64")
        .match(/.{1,70}/g)!
        .join("\n");
    return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** A fresh ED25519 key pair. */
export function generateEd25519(): KeyMaterial {
    const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519");
    const jwk = privateKey.export({ format: "jwk" });
    const seed = Buffer.from(jwk.d!, "base64url");
    const pub = Buffer.from(jwk.x!, "base64url");
    // The tls provider writes the public key without a comment.
    const publicKeyOpenssh = `ssh-ed25519 ${ed25519Blob(pub).toString("base64")}\n`;
    return {
        privateKeyOpenssh: opensshPrivateKey(seed, pub, ""),
        privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
        publicKeyOpenssh,
        publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
        publicKeyFingerprintMd5: md5Fingerprint(publicKeyOpenssh),
        publicKeyFingerprintSha256: sha256Fingerprint(publicKeyOpenssh),
    };
}

export interface PasswordSpec {
    length?: number;
    special?: boolean;
    upper?: boolean;
    lower?: boolean;
    numeric?: boolean;
    minSpecial?: number;
    minUpper?: number;
    minLower?: number;
    minNumeric?: number;
    overrideSpecial?: string;
}

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const DIGITS = "0123456789";
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

function pick(chars: string): string {
    return chars[crypto.randomInt(chars.length)];
}

/** A random password honouring random.RandomPassword's inputs (defaults as the provider's). */
export function generatePassword(spec: PasswordSpec): string {
    const length = spec.length ?? 16;
    const sets: { chars: string; enabled: boolean; min: number }[] = [
        { chars: UPPER, enabled: spec.upper ?? true, min: spec.minUpper ?? 0 },
        { chars: LOWER, enabled: spec.lower ?? true, min: spec.minLower ?? 0 },
        { chars: DIGITS, enabled: spec.numeric ?? true, min: spec.minNumeric ?? 0 },
        { chars: spec.overrideSpecial ?? SPECIAL, enabled: spec.special ?? true, min: spec.minSpecial ?? 0 },
    ];
    const enabled = sets.filter((s) => s.enabled && s.chars.length > 0);
    if (enabled.length === 0) throw new Error("random password: every character class is disabled");
    const required: string[] = [];
    for (const s of enabled) for (let i = 0; i < s.min; i++) required.push(pick(s.chars));
    if (required.length > length) throw new Error(`random password: minimums add up to ${required.length}, more than length ${length}`);
    const all = enabled.map((s) => s.chars).join("");
    const chars = [...required];
    while (chars.length < length) chars.push(pick(all));
    for (let i = chars.length - 1; i > 0; i--) {
        const j = crypto.randomInt(i + 1);
        [chars[i], chars[j]] = [chars[j], chars[i]];
    }
    return chars.join("");
}
