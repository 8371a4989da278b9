// The bake workflow's prune step against a stand-in of DigitalOcean's snapshot API on
// 127.0.0.1: it follows the pages, deletes only this stack's snapshots beyond the newest
// `keep`, sends the token, takes a 404 as done, and stops on any other error.
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { pruneSnapshots } from "../../tools/deploy/pruneSnapshots";

interface Snap {
    id: number;
    name: string;
    created_at: string;
}

/** Two pages of snapshots; records every request; DELETE answers `deleteStatus` (204 by default). */
function fakeApi(snaps: Snap[], deleteStatus: (id: string) => number = () => 204) {
    const requests: { method: string; url: string; auth?: string }[] = [];
    const server = http.createServer((req, res) => {
        requests.push({ method: req.method ?? "", url: req.url ?? "", auth: req.headers.authorization });
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`;
        const url = new URL(req.url ?? "/", "http://127.0.0.1");
        if (req.method === "GET" && url.pathname === "/v2/snapshots") {
            const page = Number(url.searchParams.get("page") ?? "1");
            const half = Math.ceil(snaps.length / 2);
            const body =
                page === 1
                    ? { snapshots: snaps.slice(0, half), links: { pages: { next: `${base}/snapshots?resource_type=droplet&per_page=200&page=2` } } }
                    : { snapshots: snaps.slice(half), links: { pages: {} } };
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
            return;
        }
        const del = /^\/v2\/snapshots\/(\d+)$/.exec(url.pathname);
        if (req.method === "DELETE" && del) {
            const status = deleteStatus(del[1]);
            res.writeHead(status).end(status >= 400 ? `{"id":"error","message":"status ${status}"}` : "");
            return;
        }
        res.writeHead(404).end();
    });
    return {
        requests,
        start: () =>
            new Promise<string>((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`))),
        stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}

const SNAPS: Snap[] = [
    { id: 11, name: "workstation-image-image-2026-11-09-1", created_at: "2026-11-09T03:20:00Z" },
    { id: 12, name: "workstation-image-image-2026-11-16-2", created_at: "2026-11-16T03:20:00Z" },
    { id: 99, name: "someone-elses-snapshot", created_at: "2026-01-01T00:00:00Z" },
    { id: 13, name: "workstation-image-image-2026-11-23-3", created_at: "2026-11-23T03:20:00Z" },
    { id: 21, name: "workstation-image-other-2026-10-01-1", created_at: "2026-10-01T03:20:00Z" },
    { id: 14, name: "workstation-image-image-2026-11-30-4", created_at: "2026-11-30T03:20:00Z" },
];

describe("pruneSnapshots (the bake workflow's last step)", () => {
    it("reads every page and deletes only this stack's snapshots beyond the newest keep, with the token", async () => {
        const api = fakeApi(SNAPS);
        const base = await api.start();
        const lines: string[] = [];
        try {
            const pruned = await pruneSnapshots({ stack: "image", keep: 2, dryRun: false, token: "dop_v1_test", api: base, out: (l) => lines.push(l) });
            assert.deepStrictEqual(
                pruned.map((s) => s.id),
                ["12", "11"],
            );
        } finally {
            await api.stop();
        }
        assert.deepStrictEqual(
            api.requests.map((r) => `${r.method} ${r.url.replace(/\?.*page=(\d)$/, "?page=$1")}`),
            ["GET /v2/snapshots?resource_type=droplet&per_page=200", "GET /v2/snapshots?page=2", "DELETE /v2/snapshots/12", "DELETE /v2/snapshots/11"],
        );
        assert.ok(api.requests.every((r) => r.auth === "Bearer dop_v1_test"));
        assert.deepStrictEqual(lines, [
            "deleting snapshot 12 workstation-image-image-2026-11-16-2 (2026-11-16T03:20:00Z)",
            "deleting snapshot 11 workstation-image-image-2026-11-09-1 (2026-11-09T03:20:00Z)",
        ]);
    });

    it("deletes nothing on a dry run, and says so when nothing is beyond keep", async () => {
        const api = fakeApi(SNAPS);
        const base = await api.start();
        const lines: string[] = [];
        try {
            await pruneSnapshots({ stack: "image", keep: 3, dryRun: true, token: "t", api: base, out: (l) => lines.push(l) });
            await pruneSnapshots({ stack: "other", keep: 1, dryRun: false, token: "t", api: base, out: (l) => lines.push(l) });
        } finally {
            await api.stop();
        }
        assert.deepStrictEqual(
            api.requests.filter((r) => r.method === "DELETE"),
            [],
        );
        assert.deepStrictEqual(lines, [
            "would delete snapshot 11 workstation-image-image-2026-11-09-1 (2026-11-09T03:20:00Z)",
            "nothing to prune: stack other has at most 1 snapshot(s)",
        ]);
    });

    it("takes a snapshot already gone (404) as pruned, and stops on another error, naming the snapshot", async () => {
        const api = fakeApi(SNAPS, (id) => (id === "12" ? 404 : 500));
        const base = await api.start();
        try {
            await assert.rejects(
                pruneSnapshots({ stack: "image", keep: 2, dryRun: false, token: "t", api: base, out: () => undefined }),
                /^Error: DELETE snapshot 11: 500 \{"id":"error","message":"status 500"\}$/,
            );
        } finally {
            await api.stop();
        }
        assert.deepStrictEqual(
            api.requests.filter((r) => r.method === "DELETE").map((r) => r.url),
            ["/v2/snapshots/12", "/v2/snapshots/11"],
        );
    });
});
