// Checks of the end-to-end test that read text, kept apart so that tests/local can test them.

// Waiting for the lock is the design (apt's DPkg::Lock::Timeout prints "Waiting for cache
// lock: Could not get lock ..." while it queues); failing on it ("E: Could not get lock")
// or retrying the command (lib.sh's "apt lock busy (attempt N): retrying") is not.
export function lockTrouble(output: string): string[] {
    return output.split("\n").filter((line) => {
        if (/retrying/i.test(line)) return true;
        if (/^Waiting for cache lock:/.test(line.trim())) return false;
        return /Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock/.test(line);
    });
}

/** What of the key and the password appears in `output` (names only, never the values). */
export function secretsIn(output: string, privateKey: string, password: string): string[] {
    const found: string[] = [];
    const body = privateKey.split("\n").filter((l) => l && !l.startsWith("-----"));
    if (body.length === 0) throw new Error("no private key body to look for");
    if (output.replace(/\s+/g, "").includes(body.join(""))) found.push("the private key body");
    const lines = body.filter((l) => l.length >= 16 && output.includes(l)).length;
    if (lines > 0) found.push(`${lines} line(s) of the private key`);
    if (password.length < 8) throw new Error("password too short to search for");
    if (output.includes(password)) found.push("the password");
    return found;
}
