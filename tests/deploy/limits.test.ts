import * as assert from "assert";
import { CONCURRENCY_CAP, REQUESTS_PER_DEPLOYMENT_TOTAL, deriveConcurrencyCap, hourlyBudgetWarning, runPool, serialized } from "../../tools/deploy/limits";
import { Deferred, deferred, settle } from "./fakes";

describe("concurrency cap", () => {
    it("derives 5 from 250 requests a minute × 0.8 headroom / ~40 requests per deployment, under the 10-droplet limit", () => {
        assert.strictEqual(REQUESTS_PER_DEPLOYMENT_TOTAL, 40);
        assert.strictEqual(CONCURRENCY_CAP, 5);
        assert.strictEqual(deriveConcurrencyCap({ requestsPerMinute: 250, concurrentDropletCreates: 10 }, 40, 0.8), 5);
    });

    it("never exceeds the concurrent droplet creates, and never drops below one", () => {
        assert.strictEqual(deriveConcurrencyCap({ requestsPerMinute: 250, concurrentDropletCreates: 10 }, 5, 0.8), 10);
        assert.strictEqual(deriveConcurrencyCap({ requestsPerMinute: 250, concurrentDropletCreates: 10 }, 500, 0.8), 1);
    });

    it("warns only when a fleet's requests could exceed the hourly budget", () => {
        assert.strictEqual(hourlyBudgetWarning(100), undefined); // 4,000 ≤ 4,000
        assert.match(hourlyBudgetWarning(101) ?? "", /^101 deployments × ~40 requests = ~4040 DigitalOcean API requests, over 4000/);
    });
});

describe("runPool", () => {
    it("keeps at most `cap` tasks in flight, starts the next as one finishes, and finishes them all", async () => {
        const cap = 3;
        const items = ["a", "b", "c", "d", "e", "f", "g"];
        const gates = new Map<string, Deferred<string>>();
        const started: string[] = [];
        let inFlight = 0;
        let maxInFlight = 0;
        const run = runPool(items, cap, async (item) => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            started.push(item);
            const gate = deferred<string>();
            gates.set(item, gate);
            try {
                return await gate.promise;
            } finally {
                inFlight--;
            }
        });

        await settle();
        assert.deepStrictEqual(started, ["a", "b", "c"], "exactly the first three start");
        // Release out of order: each release lets exactly one more start.
        for (const [release, expectStarted] of [
            ["b", "d"],
            ["a", "e"],
            ["d", "f"],
            ["c", "g"],
        ] as const) {
            gates.get(release)!.resolve(release.toUpperCase());
            await settle(() => started.includes(expectStarted));
            await settle();
            assert.strictEqual(started[started.length - 1], expectStarted);
            assert.strictEqual(inFlight, cap);
        }
        for (const item of ["e", "f", "g"]) gates.get(item)!.resolve(item.toUpperCase());
        const results = await run;

        assert.strictEqual(maxInFlight, cap);
        assert.strictEqual(inFlight, 0);
        assert.deepStrictEqual(
            results,
            items.map((i) => ({ status: "fulfilled", value: i.toUpperCase() })),
        );
    });

    it("records a failed task and carries on with the rest", async () => {
        const results = await runPool([1, 2, 3], 2, async (n) => {
            if (n === 2) throw new Error("two failed");
            return n * 10;
        });
        assert.deepStrictEqual(
            results.map((r) => r.status),
            ["fulfilled", "rejected", "fulfilled"],
        );
        assert.strictEqual((results[1] as PromiseRejectedResult).reason.message, "two failed");
        assert.strictEqual((results[2] as PromiseFulfilledResult<number>).value, 30);
    });

    it("refuses a cap below one", async () => {
        await assert.rejects(
            runPool([1], 0, async (n) => n),
            /concurrency cap must be a whole number >= 1, got 0/,
        );
    });
});

describe("serialized", () => {
    it("runs each call only after the previous one settled, even when it failed", async () => {
        const lock = serialized();
        const first = deferred<string>();
        const events: string[] = [];
        const a = lock(async () => {
            events.push("a start");
            try {
                return await first.promise;
            } finally {
                events.push("a end");
            }
        });
        const b = lock(async () => {
            events.push("b start");
            return "b";
        });
        await settle();
        assert.deepStrictEqual(events, ["a start"]);
        first.reject(new Error("a failed"));
        await assert.rejects(a, /a failed/);
        assert.strictEqual(await b, "b");
        assert.deepStrictEqual(events, ["a start", "a end", "b start"]);
    });
});
