// How many fleet deployments may run at once, derived from DigitalOcean's published limits, and
// the pool that enforces it.

/** DigitalOcean's limits per API token (docs: API rate limits; droplet create concurrency). */
export const DIGITALOCEAN_LIMITS = {
    requestsPerMinute: 250,
    requestsPerHour: 5000,
    concurrentDropletCreates: 10,
} as const;

/**
 * DigitalOcean API requests one `pulumi up` of a fresh workstation makes, by resource. The provider
 * (the bridged Terraform provider) makes one create call and one read-back per resource; the
 * droplet also polls `GET /v2/droplets/:id` until it is active (about every 3 s after a 10 s delay;
 * "active" takes 32 to 71 s, so up to about 20 polls). Everything after that is SSH to the host and
 * costs no API requests. A deployment's cloud phase lasts about 1 to 2 minutes, so the whole
 * estimate is treated as falling inside one minute. Preview and destroy make fewer requests
 * (no polling), so the `up` figure bounds all three.
 */
export const REQUESTS_PER_DEPLOYMENT = {
    providerConfigure: 1, // account check when the provider starts
    sshKey: 2, // POST /v2/account/keys + read-back
    droplet: 25, // POST /v2/droplets, ~20 status polls, read-back, neighbours/volumes reads
    firewall: 2, // POST /v2/firewalls + read-back
    project: 4, // POST /v2/projects, assign resources, two read-backs
    monitorAlerts: 6, // three alert policies (CPU, memory, disk): POST + read-back each
} as const;

export const REQUESTS_PER_DEPLOYMENT_TOTAL: number = Object.values(REQUESTS_PER_DEPLOYMENT).reduce((sum, n) => sum + n, 0);

/** Share of the per-minute budget the fleet may use: the rest is left to CI and people on the same token. */
export const RATE_HEADROOM = 0.8;

/**
 * The concurrency cap: no more deployments at once than droplets DigitalOcean creates at once, and
 * no more than fit the per-minute request budget if all their cloud phases land in the same minute:
 * min(10, floor(250 × 0.8 / 40)) = min(10, 5) = 5.
 */
export function deriveConcurrencyCap(
    limits: { requestsPerMinute: number; concurrentDropletCreates: number } = DIGITALOCEAN_LIMITS,
    requestsPerDeployment: number = REQUESTS_PER_DEPLOYMENT_TOTAL,
    headroom: number = RATE_HEADROOM,
): number {
    if (!(requestsPerDeployment > 0)) throw new Error(`requestsPerDeployment must be positive, got ${requestsPerDeployment}`);
    const byRate = Math.floor((limits.requestsPerMinute * headroom) / requestsPerDeployment);
    return Math.max(1, Math.min(limits.concurrentDropletCreates, byRate));
}

export const CONCURRENCY_CAP = deriveConcurrencyCap();

/** A warning when a fleet's total requests could exceed the hourly budget, or undefined. */
export function hourlyBudgetWarning(deployments: number): string | undefined {
    const total = deployments * REQUESTS_PER_DEPLOYMENT_TOTAL;
    const budget = Math.floor(DIGITALOCEAN_LIMITS.requestsPerHour * RATE_HEADROOM);
    if (total <= budget) return undefined;
    return (
        `${deployments} deployments × ~${REQUESTS_PER_DEPLOYMENT_TOTAL} requests = ~${total} DigitalOcean API requests, ` +
        `over ${budget} (80% of the ${DIGITALOCEAN_LIMITS.requestsPerHour}/hour limit) if they all start within an hour`
    );
}

/**
 * A lock for short critical sections: each call runs after the previous one settled. The fleet
 * opens stacks and writes their config one at a time, because `pulumi stack select` rewrites one
 * shared workspace file per project; the long operations (preview, up, destroy) run in parallel.
 */
export function serialized(): <T>(fn: () => Promise<T>) => Promise<T> {
    let tail: Promise<unknown> = Promise.resolve();
    return <T>(fn: () => Promise<T>): Promise<T> => {
        const run = tail.then(fn, fn);
        tail = run.catch(() => undefined);
        return run;
    };
}

/**
 * Runs `task` over `items` with at most `cap` in flight, starting the next as soon as one settles.
 * Never rejects: each item's outcome is returned in input order, so one failure does not stop the rest.
 */
export async function runPool<T, R>(items: readonly T[], cap: number, task: (item: T, index: number) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
    if (!Number.isInteger(cap) || cap < 1) throw new Error(`concurrency cap must be a whole number >= 1, got ${cap}`);
    const results: PromiseSettledResult<R>[] = new Array(items.length);
    let next = 0;
    const worker = async (): Promise<void> => {
        while (next < items.length) {
            const index = next++;
            try {
                results[index] = { status: "fulfilled", value: await task(items[index], index) };
            } catch (reason) {
                results[index] = { status: "rejected", reason };
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(cap, items.length) }, worker));
    return results;
}
