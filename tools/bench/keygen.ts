// Key generation: ED25519 against RSA-4096 with node's crypto.generateKeyPair (async, on
// libuv's thread pool, as a Pulumi program would await it). In production the key comes
// from @pulumi/tls's PrivateKey, generated in Go by the provider plugin; node's OpenSSL is a
// stand-in for the order of magnitude, not the same code.

import { generateKeyPair } from "crypto";
import { promisify } from "util";

const generate = promisify(generateKeyPair);

export type KeyAlgorithm = "ed25519" | "rsa4096";

export const KEY_NOTE =
    "Measured with node's crypto.generateKeyPair (OpenSSL). In production @pulumi/tls (tls:index/privateKey:PrivateKey) generates the key in Go inside the provider plugin, so these figures show the order of magnitude, not the deployed code's exact cost. The original design's budget for SSH key handling is 500 ms added to a deployment.";

export const KEY_BUDGET_MS = 500;

/** One generation, in milliseconds. */
export async function timeKeyGeneration(algorithm: KeyAlgorithm): Promise<number> {
    const t0 = process.hrtime.bigint();
    if (algorithm === "ed25519") {
        await generate("ed25519", { publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
    } else {
        await generate("rsa", {
            modulusLength: 4096,
            publicKeyEncoding: { type: "spki", format: "pem" },
            privateKeyEncoding: { type: "pkcs8", format: "pem" },
        });
    }
    return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** `runs` generations of each algorithm, interleaved so that machine noise hits both alike. */
export interface KeySamples {
    /** The first generation of each algorithm in this process (OpenSSL loads its providers then), not in the samples. */
    coldMs: Record<KeyAlgorithm, number>;
    samplesMs: Record<KeyAlgorithm, number[]>;
}

export async function benchmarkKeys(runs: number, onProgress?: (done: number) => void): Promise<KeySamples> {
    const coldMs = { ed25519: await timeKeyGeneration("ed25519"), rsa4096: await timeKeyGeneration("rsa4096") };
    const out: Record<KeyAlgorithm, number[]> = { ed25519: [], rsa4096: [] };
    for (let i = 0; i < runs; i++) {
        out.ed25519.push(await timeKeyGeneration("ed25519"));
        out.rsa4096.push(await timeKeyGeneration("rsa4096"));
        onProgress?.(i + 1);
    }
    return { coldMs, samplesMs: out };
}
