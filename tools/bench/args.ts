// Command line of `npm run bench -- [options]`. Every error names the flag, the value and
// what is allowed.

import { DEFAULT_LINKS, LinkError, LinkSpec, parseLinks } from "./link";

export const CASES = ["optimized", "naive", "floor", "rerun", "from-image", "restart", "key", "fleet"] as const;
export type CaseName = (typeof CASES)[number];

/** Cases run only when --cases names them: the fleet boots N + 1 workstations and takes minutes on 2 cores. */
export const OPT_IN_CASES: readonly CaseName[] = ["fleet"];

/** --fleet N: workstations provisioned at once by the fleet case (default for a 2-core machine, and the most). */
export const FLEET_DEFAULT = 4;
export const FLEET_MAX = 10;

export interface BenchOptions {
    runs: number;
    cases: CaseName[];
    keyRuns: number;
    thresholdsFile: string;
    outFile: string;
    stack: string;
    /** The links the network-bound cases run over: a shaped one first, then `none` (see link.ts). */
    links: LinkSpec[];
    /** The fleet case's size (--fleet N); undefined when the fleet case does not run. */
    fleet?: number;
    help: boolean;
}

import { FlagSpec, UsageError, flagTokens } from "../shared/cli";

export { UsageError };

export const USAGE = `usage: npm run bench -- [options]

Measures provisioning on the local target (fresh test hosts, one warm apt cache) and
writes tools/bench/results.json and a Markdown report on stdout. Exits 1 when a threshold in
tools/bench/thresholds.json is crossed, 2 on bad options.

  --runs K            repetitions of every case, 1 to 20 (default 3)
  --cases LIST        comma-separated subset of ${CASES.join(", ")}
                      (default all but ${OPT_IN_CASES.join(", ")}; rerun, from-image and restart need optimized)
  --key-runs N        key generations per algorithm, 1 to 1000 (default 50)
  --thresholds FILE   thresholds file (default tools/bench/thresholds.json)
  --out FILE          results file (default tools/bench/results.json)
  --stack NAME        stack whose config the cases run (default dev); the fleet's env
  --link LIST         the test hosts' link, tc on their veth pair: "none" (unshaped),
                      RATE[:DELAY] (e.g. 200mbit, or 200mbit:20ms where the kernel has
                      netem), or both comma-separated (default ${DEFAULT_LINKS}); the
                      network-bound cases (optimized, naive) run once per link
  --fleet N           the fleet case's size: N workstations at once through the deploy
                      driver, 1 to ${FLEET_MAX} (default ${FLEET_DEFAULT}); only with --cases fleet
  --help              this text`;

/** The bench's flags, in the order its messages list them. */
const FLAGS: FlagSpec = {
    runs: { type: "string" },
    cases: { type: "string" },
    "key-runs": { type: "string" },
    thresholds: { type: "string" },
    out: { type: "string" },
    stack: { type: "string" },
    link: { type: "string" },
    fleet: { type: "string" },
    help: { type: "boolean", short: "h" },
};

function intFlag(flag: string, value: string, min: number, max: number): number {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
        throw new UsageError(`${flag} ${JSON.stringify(value)}: must be a whole number from ${min} to ${max}`);
    }
    return Number(value);
}

export function parseArgs(argv: readonly string[], stacks: readonly string[], defaults: { thresholdsFile: string; outFile: string }): BenchOptions {
    const opts: BenchOptions = {
        runs: 3,
        cases: CASES.filter((c) => !OPT_IN_CASES.includes(c)),
        keyRuns: 50,
        thresholdsFile: defaults.thresholdsFile,
        outFile: defaults.outFile,
        stack: "dev",
        links: parseLinks(DEFAULT_LINKS),
        help: false,
    };
    let fleet: number | undefined;
    for (const token of flagTokens(argv, FLAGS)) {
        const flag = `--${token.name}`;
        if (token.value === undefined) {
            opts.help = true;
            continue;
        }
        const value = token.value;
        switch (flag) {
            case "--runs":
                opts.runs = intFlag(flag, value, 1, 20);
                break;
            case "--key-runs":
                opts.keyRuns = intFlag(flag, value, 1, 1000);
                break;
            case "--cases": {
                const list = value
                    .split(",")
                    .map((s) => s.trim())
                    .filter((s) => s !== "");
                const bad = list.filter((c) => !(CASES as readonly string[]).includes(c));
                if (list.length === 0 || bad.length > 0) {
                    throw new UsageError(
                        `--cases ${JSON.stringify(value)}: ${bad.length ? `unknown case ${bad.map((b) => JSON.stringify(b)).join(", ")}` : "empty"}; allowed: a comma-separated subset of ${CASES.join(", ")}`,
                    );
                }
                opts.cases = CASES.filter((c) => list.includes(c));
                break;
            }
            case "--fleet":
                fleet = intFlag(flag, value, 1, FLEET_MAX);
                break;
            case "--thresholds":
                opts.thresholdsFile = value;
                break;
            case "--out":
                opts.outFile = value;
                break;
            case "--link":
                try {
                    opts.links = parseLinks(value);
                } catch (err) {
                    if (err instanceof LinkError) throw new UsageError(err.message);
                    throw err;
                }
                break;
            case "--stack":
                if (!stacks.includes(value)) throw new UsageError(`--stack ${JSON.stringify(value)}: no Pulumi.${value}.yaml; allowed: ${stacks.join(", ")}`);
                opts.stack = value;
                break;
        }
    }
    for (const c of ["rerun", "restart"] as const) {
        if (opts.cases.includes(c) && !opts.cases.includes("optimized")) {
            throw new UsageError(`--cases ${JSON.stringify(opts.cases.join(","))}: ${c} runs on the host the optimized case provisioned; add optimized`);
        }
    }
    if (opts.cases.includes("from-image") && !opts.cases.includes("optimized")) {
        throw new UsageError(
            `--cases ${JSON.stringify(opts.cases.join(","))}: from-image is measured against a fresh workstation of the same run (optimized); add optimized`,
        );
    }
    if (opts.cases.includes("fleet")) opts.fleet = fleet ?? FLEET_DEFAULT;
    else if (fleet !== undefined) {
        throw new UsageError(
            `--fleet ${fleet}: sizes the fleet case, which --cases ${JSON.stringify(opts.cases.join(","))} does not run; add fleet to --cases`,
        );
    }
    return opts;
}
