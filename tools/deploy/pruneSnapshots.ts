// `ts-node -T tools/deploy/pruneSnapshots.ts --stack image --keep 3 [--dry-run]`: the bake
// workflow's last step. Deletes this image stack's snapshots beyond the newest `keep`.
// Older snapshots are no longer in Pulumi's state (retainOnDelete kept them in the account
// when a new bake replaced the resource), so they are found by name in the API's list.
import { ListedSnapshot, snapshotsToPrune } from "../../components/image";

const API = "https://api.digitalocean.com/v2";

async function listSnapshots(token: string): Promise<ListedSnapshot[]> {
    const found: ListedSnapshot[] = [];
    let url: string | undefined = `${API}/snapshots?resource_type=droplet&per_page=200`;
    while (url) {
        const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
        if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
        const body = await res.json() as { snapshots: { id: string; name: string; created_at: string }[]; links?: { pages?: { next?: string } } };
        found.push(...body.snapshots.map((s) => ({ id: String(s.id), name: s.name, createdAt: s.created_at })));
        url = body.links?.pages?.next;
    }
    return found;
}

async function main(argv: string[]): Promise<void> {
    const arg = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
    const stack = arg("--stack");
    const keep = Number(arg("--keep"));
    const token = process.env.DIGITALOCEAN_TOKEN;
    if (!stack || !Number.isInteger(keep) || keep < 1) throw new Error("usage: pruneSnapshots.ts --stack NAME --keep N (N >= 1) [--dry-run]");
    if (!token) throw new Error("DIGITALOCEAN_TOKEN is not set");
    for (const snap of snapshotsToPrune(await listSnapshots(token), stack, keep)) {
        process.stdout.write(`${argv.includes("--dry-run") ? "would delete" : "deleting"} snapshot ${snap.id} ${snap.name} (${snap.createdAt})\n`);
        if (argv.includes("--dry-run")) continue;
        const res = await fetch(`${API}/snapshots/${snap.id}`, { method: "DELETE", headers: { Authorization: `Bearer ${token}` } });
        if (!res.ok && res.status !== 404) throw new Error(`DELETE snapshot ${snap.id}: ${res.status} ${await res.text()}`);
    }
}

main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
});
