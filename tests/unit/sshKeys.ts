// Public key lines built byte by byte, so tests can make any key sshd would or would not
// read without generating real keys.

/** An OpenSSH wire-format string (uint32 length, then the bytes). */
function sshString(value: Buffer | string): Buffer {
    const bytes = Buffer.from(value);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
}

/** A public key line of `type` whose blob holds the type and then `fields`, as ssh-keygen writes it. */
export function keyLine(type: string, fields: Buffer[], comment = "test@host"): string {
    return `${type} ${Buffer.concat([sshString(type), ...fields.map(sshString)]).toString("base64")} ${comment}`;
}

/** An RSA public key with a modulus of exactly `bits` bits (sshd checks the size, not the primes). */
export function rsaKey(bits: number): string {
    const modulus = Buffer.alloc(bits / 8, 0xab);
    modulus[0] = 0xc1;
    return keyLine("ssh-rsa", [Buffer.from([1, 0, 1]), Buffer.concat([Buffer.from([0]), modulus])]);
}

export const ED25519_KEY = keyLine("ssh-ed25519", [Buffer.alloc(32, 9)]);
