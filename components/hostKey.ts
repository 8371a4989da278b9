import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

/** The host key's resource name is the component's name plus this. */
export const HOST_KEY_SUFFIX = "-hostkey";

/**
 * The workstation's SSH host key, made by the program so that no connection has to
 * trust the first key it sees: cloud-init installs it before sshd first starts
 * (`hostKeyCloudConfig`), every stage pins it (`connection.hostKey`), and the user gets
 * it as a known_hosts line. ED25519 only: the one type sshd will offer.
 *
 * The key has no inputs that change, so it lives as long as the workstation: a new
 * droplet (new image, new size) answers with the same key, and only destroying the
 * stack makes a new one.
 */
export class HostKey extends pulumi.ComponentResource {
    /** OpenSSH private key, secret; reaches the droplet inside its (secret) user data only. */
    public readonly privateKey: pulumi.Output<string>;
    /** `ssh-ed25519 AAAA…`, the form @pulumi/command's `connection.hostKey` parses (an authorized_keys line). */
    public readonly publicKey: pulumi.Output<string>;
    /** `SHA256:…` as `ssh-keygen -l` prints it. */
    public readonly fingerprint: pulumi.Output<string>;
    public readonly key: tls.PrivateKey;

    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("workstation:index:HostKey", name, {}, opts);
        this.key = new tls.PrivateKey(`${name}${HOST_KEY_SUFFIX}`, { algorithm: "ED25519" }, { parent: this });
        this.privateKey = pulumi.secret(this.key.privateKeyOpenssh);
        this.publicKey = this.key.publicKeyOpenssh.apply((k) => k.trim());
        this.fingerprint = this.key.publicKeyFingerprintSha256;
        this.registerOutputs({ publicKey: this.publicKey, fingerprint: this.fingerprint });
    }
}

/**
 * One known_hosts line for `host` (ssh(8) "SSH_KNOWN_HOSTS FILE FORMAT"): the host as
 * given for port 22, `[host]:port` for any other port, then the key type and base64.
 * A key comment, if any, is dropped.
 */
export function knownHostsLine(host: string, port: number, publicKey: string): string {
    const [type, blob] = publicKey.trim().split(/\s+/);
    if (!type || !blob) throw new Error(`knownHostsLine: ${JSON.stringify(publicKey)} is not an OpenSSH public key`);
    const name = port === 22 ? host : `[${host}]:${port}`;
    return `${name} ${type} ${blob}`;
}

/**
 * cloud-config lines for cloud-init's ssh module (cc_ssh): delete every host key the
 * image carries (`ssh_deletekeys`, so a baked image's keys or ones made at first boot
 * never answer), generate none (`ssh_genkeytypes: []`), and write this ED25519 pair.
 * cc_ssh runs in cloud-init's network stage, ordered before sshd.service, so sshd
 * answers with this key from its first start.
 */
export function hostKeyCloudConfig(privateKey: string, publicKey: string): string[] {
    const body = privateKey
        .trim()
        .split("\n")
        .map((l) => `    ${l}`);
    return ["ssh_deletekeys: true", "ssh_genkeytypes: []", "ssh_keys:", "  ed25519_private: |", ...body, `  ed25519_public: ${publicKey.trim()}`];
}
