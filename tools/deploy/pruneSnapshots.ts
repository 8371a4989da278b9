// `ts-node -T tools/deploy/pruneSnapshots.ts --stack image --keep 3 [--dry-run]`: the bake
// workflow's last step. Deletes this image stack's snapshots beyond the newest `keep`.
// Older snapshots are no longer in Pulumi's state (retainOnDelete kept them in the account
// when a new bake replaced the resource), so they are found by name in the API's list.
import { ListedSnapshot, snapshotsToPrune } from "../../components/image";

export const API = "https://api.digitalocean.com/v2";

export interface PruneOptions {
    stack: string;
    keep: number;
    dryRun: boolean;
    token: string;
    /** The API's base URL; the tests point it at a local server. */
    api?: string;
    out(line: string): void;
}

/** Every droplet snapshot in the account, following the API's pages. */
export async function listSnapshots(token: string, api = API): Promise<ListedSnapshot[]> {
    const found: ListedSnapshot[] = [];
    let url: string | undefined = `${api}/snapshots?resource_type=droplet&per_page=200`;
    while (url) {
        const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
        if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
        const body = (await res.json()) as { snapshots: { id: string | number; name: string; created_at: string }[]; links?: { pages?: { next?: string } } };
        found.push(...body.snapshots.map((s) => ({ id: String(s.id), name: s.name, createdAt: s.created_at })));
        url = body.links?.pages?.next;
    }
    return found;
}

/** Deletes (or with dryRun names) the stack's snapshots beyond the newest `keep`; returns them. */
export async function pruneSnapshots(opts: PruneOptions): Promise<ListedSnapshot[]> {
    const api = opts.api ?? API;
    const doomed = snapshotsToPrune(await listSnapshots(opts.token, api), opts.stack, opts.keep);
    for (const snap of doomed) {
        opts.out(`${opts.dryRun ? "would delete" : "deleting"} snapshot ${snap.id} ${snap.name} (${snap.createdAt})`);
        if (opts.dryRun) continue;
        const res = await fetch(`${api}/snapshots/${snap.id}`, { method: "DELETE", headers: { Authorization: `Bearer ${opts.token}` } });
        // Gone already (deleted by hand, or by a run that failed later): the goal is met.
        if (!res.ok && res.status !== 404) throw new Error(`DELETE snapshot ${snap.id}: ${res.status} ${await res.text()}`);
    }
    if (doomed.length === 0) opts.out(`nothing to prune: stack ${opts.stack} has at most ${opts.keep} snapshot(s)`);
    return doomed;
}

async function main(argv: string[]): Promise<void> {
    const arg = (name: string) => {
        const i = argv.indexOf(name);
        return i >= 0 ? argv[i + 1] : undefined;
    };
    const stack = arg("--stack");
    const keep = Number(arg("--keep"));
    const token = process.env.DIGITALOCEAN_TOKEN;
    if (!stack || !Number.isInteger(keep) || keep < 1) throw new Error("usage: pruneSnapshots.ts --stack NAME --keep N (N >= 1) [--dry-run]");
    if (!token) throw new Error("DIGITALOCEAN_TOKEN is not set");
    await pruneSnapshots({ stack, keep, dryRun: argv.includes("--dry-run"), token, out: (line) => process.stdout.write(`${line}\n`) });
}

if (require.main === module) {
    main(process.argv.slice(2)).catch((e: unknown) => {
        process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
    });
}
