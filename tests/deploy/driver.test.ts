import * as assert from "assert";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { describeEvent, describeLifecycle, main } from "../../tools/deploy/driver";
import { DEV_STACK_FILE, Deferred, FakeStacks, ROOT, deferred, fakeDeps, settle, timingsOutput } from "./fakes";

const FLEET = JSON.stringify([
    { name: "alice", env: "dev", config: { owner: "alice" } },
    { name: "bob", env: "dev", config: { owner: "bob", size: "s-4vcpu-8gb" } },
    { name: "carol", env: "staging" },
]);

describe("deploy driver: one env", () => {
    it("ups the env's stack with the policy pack, sets no config, streams output and prints the timing table", async () => {
        const stacks = new FakeStacks();
        stacks.up = async (_stack, options) => {
            options.onOutput?.("Updating (dev)\n");
            return {
                outputs: {
                    timings: timingsOutput({ "system-prep": 80, desktop: 60 }, 140),
                    lifecycle: { state: "running", action: "start", readySeconds: 161.24 },
                },
                resourceChanges: { create: 20 },
            };
        };
        const deps = fakeDeps(stacks);
        assert.strictEqual(await main(["--env", "dev"], deps), 0);
        assert.ok(deps.lines.includes("dev: started (a new droplet); ready 161.2 s after the up began"), deps.lines.join("\n"));

        assert.deepStrictEqual(
            stacks.calls.map((c) => `${c.op} ${c.stack}`),
            ["createOrSelect dev", "up dev"],
        );
        assert.deepStrictEqual(stacks.ops("up")[0].options?.policyPacks, [`${ROOT}/policies`]);
        assert.deepStrictEqual(deps.streamed, ["Updating (dev)\n"]);
        const out = deps.lines.join("\n");
        assert.match(out, /dev: up done; changes: create 20/);
        assert.match(out, /\nsystem-prep +80\.0 +ok\ndesktop +60\.0 +ok\n/);
        assert.match(out, /wall clock: {6}140\.0 s/);
        assert.match(out, /critical path: {3}system-prep → desktop \(140\.0 s\)/);
    });

    it("describes the lifecycle output of an update and of a stop, and nothing else", () => {
        assert.strictEqual(describeLifecycle({ state: "running", action: "update", readySeconds: 4 }), "updated; ready 4.0 s after the up began");
        assert.strictEqual(describeLifecycle({ state: "stopped", monthlyCost: 2 }), "stopped; costs $2.00 a month (the home volume)");
        assert.strictEqual(describeLifecycle(undefined), undefined);
        assert.strictEqual(describeLifecycle({ state: "running" }), undefined);
    });

    it("previews with the policy pack when asked, and destroys without one", async () => {
        const stacks = new FakeStacks();
        assert.strictEqual(await main(["--env", "prod", "--preview"], fakeDeps(stacks)), 0);
        assert.strictEqual(await main(["--env", "staging", "--destroy"], fakeDeps(stacks)), 0);
        assert.deepStrictEqual(
            stacks.calls.map((c) => `${c.op} ${c.stack}`),
            ["createOrSelect prod", "preview prod", "createOrSelect staging", "destroy staging"],
        );
        assert.deepStrictEqual(stacks.ops("preview")[0].options?.policyPacks, [`${ROOT}/policies`]);
        assert.deepStrictEqual(stacks.ops("destroy")[0].options?.policyPacks, []);
    });

    it("reports a failed up with exit code 1 and the error", async () => {
        const stacks = new FakeStacks();
        stacks.up = async () => {
            throw new Error("code: 255\nstderr: error: resource ws-droplet failed");
        };
        const deps = fakeDeps(stacks);
        assert.strictEqual(await main(["--env", "dev"], deps), 1);
        assert.strictEqual(deps.lines[deps.lines.length - 1], "error: code: 255\nstderr: error: resource ws-droplet failed");
    });
});

describe("deploy driver: bad input stops before any stack is touched", () => {
    const cases: Array<[string, string[], Record<string, string>, Record<string, string>, string]> = [
        ["an unknown env", ["--env", "qa"], {}, {}, 'error: --env "qa" is not an environment: allowed are dev, staging, prod'],
        [
            "a missing stack file",
            ["--env", "prod"],
            { "Pulumi.prod.yaml": "<absent>" },
            {},
            `error: env prod: no Pulumi.prod.yaml in ${ROOT}: every env needs its stack file`,
        ],
        [
            "a workDir without Pulumi.yaml",
            ["--env", "dev"],
            { "Pulumi.yaml": "<absent>" },
            {},
            `error: no Pulumi.yaml in ${ROOT}: the workspace must be the project directory`,
        ],
        [
            "a missing policy pack",
            ["--env", "dev", "--preview"],
            { "policies/PulumiPolicy.yaml": "<absent>" },
            {},
            `error: no policies/PulumiPolicy.yaml in ${ROOT}: preview runs with the policy pack`,
        ],
        [
            "no DigitalOcean token",
            ["--env", "dev"],
            {},
            { DIGITALOCEAN_TOKEN: "" },
            "error: DIGITALOCEAN_TOKEN is not set: export a DigitalOcean API token (read and write) before deploying",
        ],
        ["a missing fleet file", ["--fleet", "nope.yaml"], {}, {}, `error: --fleet nope.yaml: no such file (${ROOT}/nope.yaml)`],
        [
            "a bad fleet entry",
            ["--fleet", "f.json"],
            { "f.json": '[{"name":"alice","env":"qa"}]' },
            {},
            'error: --fleet f.json: entry 0 (alice): env "qa" is not allowed: one of dev, staging, prod',
        ],
        [
            "a fleet env without its stack file",
            ["--fleet", "f.json"],
            { "f.json": '[{"name":"alice","env":"dev"},{"name":"bob","env":"prod"}]', "Pulumi.prod.yaml": "<absent>" },
            {},
            `error: env prod: no Pulumi.prod.yaml in ${ROOT}: every env needs its stack file`,
        ],
        [
            "a fleet env file with secrets",
            ["--fleet", "f.json"],
            { "f.json": '[{"name":"alice","env":"staging"}]', "Pulumi.staging.yaml": "config:\n  workstation:pw:\n    secure: AA==\n" },
            {},
            "error: Pulumi.staging.yaml: config workstation:pw is a secret ({ secure }); fleet stacks cannot reuse another stack's " +
                "encrypted values: move it to an environment variable or deploy that env with --env",
        ],
    ];
    for (const [what, argv, files, env, expected] of cases) {
        it(`rejects ${what} with exit code 2`, async () => {
            const stacks = new FakeStacks();
            const deps = fakeDeps(stacks, files, env);
            assert.strictEqual(await main(argv, deps), 2);
            assert.deepStrictEqual(deps.lines, [expected]);
            assert.deepStrictEqual(stacks.calls, []);
        });
    }
});

describe("deploy driver: fleet", () => {
    it("gives each workstation its own stack, configured from its env file plus its own keys", async () => {
        const stacks = new FakeStacks();
        const deps = fakeDeps(stacks, { "fleet.json": FLEET });
        assert.strictEqual(await main(["--fleet", "fleet.json", "--preview"], deps), 0);

        const configs = Object.fromEntries(stacks.ops("replaceConfig").map((c) => [c.stack, c.config]));
        assert.deepStrictEqual(configs, {
            "dev-alice": {
                "workstation:region": "nyc3",
                "workstation:size": "s-2vcpu-4gb",
                "workstation:ides": ["vscode", "cursor"],
                "workstation:owner": "alice",
            },
            "dev-bob": {
                "workstation:region": "nyc3",
                "workstation:size": "s-4vcpu-8gb",
                "workstation:ides": ["vscode", "cursor"],
                "workstation:owner": "bob",
            },
            "staging-carol": { "workstation:region": "ams3" },
        });
        assert.deepStrictEqual(
            stacks
                .ops("preview")
                .map((c) => c.stack)
                .sort(),
            ["dev-alice", "dev-bob", "staging-carol"],
        );
        for (const call of stacks.ops("preview")) assert.deepStrictEqual(call.options?.policyPacks, [`${ROOT}/policies`]);
    });

    it("stores list config as lists, which the CLI accepts for keys Pulumi.yaml declares as arrays", async () => {
        const stacks = new FakeStacks();
        const fleet = JSON.stringify([
            { name: "alice", env: "dev", config: { tags: ["owner:alice"], allowedSshCidrs: ["203.0.113.0/24"], alertEmails: [], desktop: false } },
        ]);
        const deps = fakeDeps(stacks, { "fleet.json": fleet });
        assert.strictEqual(await main(["--fleet", "fleet.json"], deps), 0, deps.lines.join("\n"));
        assert.deepStrictEqual(stacks.stored.get("dev-alice"), {
            "workstation:region": { value: "nyc3", object: false, secret: false },
            "workstation:size": { value: "s-2vcpu-4gb", object: false, secret: false },
            "workstation:ides": { value: '["vscode","cursor"]', object: true, secret: false },
            "workstation:tags": { value: '["owner:alice"]', object: true, secret: false },
            "workstation:allowedSshCidrs": { value: '["203.0.113.0/24"]', object: true, secret: false },
            "workstation:alertEmails": { value: "[]", object: true, secret: false },
            "workstation:desktop": { value: "false", object: false, secret: false },
        });
        assert.deepStrictEqual(
            stacks.ops("up").map((c) => c.stack),
            ["dev-alice"],
        );
    });

    it("never has more ups in flight than the cap, and completes every stack", async () => {
        const names = ["a", "b", "c", "d", "e", "f", "g", "h"];
        const stacks = new FakeStacks();
        const gates = new Map<string, Deferred<void>>();
        let inFlight = 0;
        let maxInFlight = 0;
        stacks.up = async (stack) => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            const gate = deferred<void>();
            gates.set(stack, gate);
            await gate.promise;
            inFlight--;
            return { outputs: { timings: timingsOutput({ desktop: 10 }, 10) } };
        };
        const fleet = JSON.stringify(names.map((name) => ({ name, env: "dev" })));
        const deps = fakeDeps(stacks, { "fleet.json": fleet });
        const run = main(["--fleet", "fleet.json", "--concurrency", "3"], deps);

        const released = new Set<string>();
        while (released.size < names.length) {
            await settle(() => inFlight === Math.min(3, names.length - released.size));
            await settle(); // give an extra start the chance to (wrongly) happen
            assert.ok(inFlight <= 3, `in flight ${inFlight} > 3`);
            assert.strictEqual(inFlight, Math.min(3, names.length - released.size));
            const next = [...gates.keys()].find((s) => !released.has(s))!;
            released.add(next);
            gates.get(next)!.resolve();
        }
        assert.strictEqual(await run, 0);
        assert.strictEqual(maxInFlight, 3);
        assert.strictEqual(stacks.ops("up").length, names.length);
        assert.match(deps.lines.join("\n"), /fleet up: 8 succeeded, 0 failed/);
    });

    it("uses the DigitalOcean-derived cap when no --concurrency is given", async () => {
        const stacks = new FakeStacks();
        let inFlight = 0;
        let maxInFlight = 0;
        const gate = deferred<void>();
        stacks.up = async () => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            await gate.promise;
            inFlight--;
            return { outputs: {} };
        };
        const fleet = JSON.stringify(Array.from({ length: 12 }, (_, i) => ({ name: `u${i}`, env: "dev" })));
        const deps = fakeDeps(stacks, { "fleet.json": fleet });
        const run = main(["--fleet", "fleet.json"], deps);
        await settle(() => inFlight === 5);
        await settle();
        assert.strictEqual(inFlight, 5);
        gate.resolve();
        assert.strictEqual(await run, 0);
        assert.strictEqual(maxInFlight, 5);
        assert.match(deps.lines[0], /^up 12 stack\(s\), at most 5 at once$/);
    });

    it("reports one failing stack with its name and error while the others succeed, and percentiles over the successes", async () => {
        const stacks = new FakeStacks();
        const seconds: Record<string, number> = { "dev-alice": 100, "staging-carol": 300 };
        stacks.up = async (stack) => {
            if (stack === "dev-bob") throw new Error("Error creating droplet: POST https://api.digitalocean.com/v2/droplets: 429 Too many requests");
            return { outputs: { timings: timingsOutput({ "system-prep": seconds[stack], desktop: seconds[stack] / 2 }, seconds[stack] * 2) } };
        };
        const deps = fakeDeps(stacks, { "fleet.json": FLEET });
        assert.strictEqual(await main(["--fleet", "fleet.json"], deps), 1);

        const summary = deps.lines.slice(deps.lines.indexOf(""));
        assert.deepStrictEqual(summary, [
            "",
            "fleet up: 2 succeeded, 1 failed",
            "stage seconds across 2 deployment(s), nearest-rank percentiles:",
            [
                "stage         n  p50 s  p95 s  p99 s",
                "------------  -  -----  -----  -----",
                "system-prep   2  100.0  300.0  300.0",
                "desktop       2   50.0  150.0  150.0",
                "(wall clock)  2  200.0  600.0  600.0",
            ].join("\n"),
            "failures:",
            "  dev-bob: Error creating droplet: POST https://api.digitalocean.com/v2/droplets: 429 Too many requests",
        ]);
        assert.deepStrictEqual(
            stacks
                .ops("up")
                .map((c) => c.stack)
                .sort(),
            ["dev-alice", "dev-bob", "staging-carol"],
        );
    });

    it("reports a stack that fails to be created or configured like any other failure", async () => {
        const stacks = new FakeStacks();
        const original = stacks.createOrSelect.bind(stacks);
        stacks.createOrSelect = async (name: string) => {
            if (name === "dev-alice") throw new Error("error: the stack is currently locked by 1 lock(s)");
            return original(name);
        };
        const deps = fakeDeps(stacks, { "fleet.json": FLEET });
        assert.strictEqual(await main(["--fleet", "fleet.json"], deps), 1);
        assert.deepStrictEqual(deps.lines.slice(-2), ["failures:", "  dev-alice: error: the stack is currently locked by 1 lock(s)"]);
        assert.deepStrictEqual(
            stacks
                .ops("up")
                .map((c) => c.stack)
                .sort(),
            ["dev-bob", "staging-carol"],
        );
    });

    it("opens and configures one fleet stack at a time, while their ups overlap", async () => {
        const stacks = new FakeStacks();
        const original = stacks.createOrSelect.bind(stacks);
        let opening = 0;
        let maxOpening = 0;
        const openGate = deferred<void>();
        stacks.createOrSelect = async (name: string) => {
            opening++;
            maxOpening = Math.max(maxOpening, opening);
            await openGate.promise;
            opening--;
            return original(name);
        };
        let upsInFlight = 0;
        let maxUps = 0;
        const upGate = deferred<void>();
        stacks.up = async () => {
            upsInFlight++;
            maxUps = Math.max(maxUps, upsInFlight);
            await upGate.promise;
            upsInFlight--;
            return { outputs: {} };
        };
        const deps = fakeDeps(stacks, { "fleet.json": FLEET });
        const run = main(["--fleet", "fleet.json"], deps);
        await settle(() => opening === 1);
        await settle();
        assert.strictEqual(opening, 1);
        openGate.resolve();
        await settle(() => upsInFlight === 3);
        assert.strictEqual(upsInFlight, 3);
        upGate.resolve();
        assert.strictEqual(await run, 0);
        assert.strictEqual(maxOpening, 1);
        assert.strictEqual(maxUps, 3);
        assert.deepStrictEqual(
            stacks.calls.filter((c) => c.op !== "up").map((c) => `${c.op} ${c.stack}`),
            [
                "createOrSelect dev-alice",
                "outputs dev-alice",
                "replaceConfig dev-alice",
                "createOrSelect dev-bob",
                "outputs dev-bob",
                "replaceConfig dev-bob",
                "createOrSelect staging-carol",
                "outputs staging-carol",
                "replaceConfig staging-carol",
            ],
        );
    });

    it("keeps a stopped fleet stack stopped unless its entry sets running, and never takes running from the env file", async () => {
        const stacks = new FakeStacks();
        stacks.outputsOf.set("dev-alice", { state: "stopped" });
        stacks.outputsOf.set("dev-bob", { state: "stopped" });
        stacks.outputsOf.set("staging-carol", { state: "running" });
        stacks.outputsOf.set("dev-dave", { state: "running" });
        const fleet = JSON.stringify([
            { name: "alice", env: "dev" },
            { name: "bob", env: "dev", config: { running: true } },
            { name: "carol", env: "staging" },
            { name: "dave", env: "dev" },
        ]);
        // The dev stack itself was stopped by stop-idle, which committed running: false to its file.
        const deps = fakeDeps(stacks, { "fleet.json": fleet, "Pulumi.dev.yaml": `${DEV_STACK_FILE}  workstation:running: false\n` });
        assert.strictEqual(await main(["--fleet", "fleet.json"], deps), 0, deps.lines.join("\n"));
        const running = Object.fromEntries(stacks.ops("replaceConfig").map((c) => [c.stack, c.config?.["workstation:running"]]));
        assert.deepStrictEqual(running, { "dev-alice": "false", "dev-bob": "true", "staging-carol": undefined, "dev-dave": undefined });
        assert.ok(deps.lines.includes("[dev-alice] is stopped and its entry does not set running: it stays stopped"), deps.lines.join("\n"));
    });

    it("prefixes progress events with the stack name", async () => {
        const stacks = new FakeStacks();
        stacks.up = async (_stack, options) => {
            options.onEvent?.({
                sequence: 1,
                timestamp: 0,
                resOutputsEvent: {
                    metadata: {
                        op: "create",
                        urn: "urn:pulumi:dev-alice::workstation::digitalocean:index/droplet:Droplet::ws-droplet",
                        type: "digitalocean:index/droplet:Droplet",
                        provider: "",
                    },
                },
            });
            return { outputs: {} };
        };
        const deps = fakeDeps(stacks, { "fleet.json": '[{"name":"alice","env":"dev"}]' });
        assert.strictEqual(await main(["--fleet", "fleet.json"], deps), 0);
        assert.ok(deps.lines.includes("[dev-alice] create ws-droplet (digitalocean:index/droplet:Droplet)"), deps.lines.join("\n"));
    });
});

describe("progress events", () => {
    const event = (e: Partial<EngineEvent>): EngineEvent => ({ sequence: 1, timestamp: 0, ...e });
    it("shows changes, failures, errors, warnings and policy violations, and hides the rest", () => {
        const metadata = { op: "same" as const, urn: "urn:pulumi:s::p::t::ws-key", type: "tls:index/privateKey:PrivateKey", provider: "" };
        assert.strictEqual(describeEvent(event({ resOutputsEvent: { metadata } })), undefined);
        assert.strictEqual(
            describeEvent(event({ resOpFailedEvent: { metadata: { ...metadata, op: "update" }, status: 1, steps: 1 } })),
            "FAILED update ws-key (tls:index/privateKey:PrivateKey)",
        );
        assert.strictEqual(describeEvent(event({ diagnosticEvent: { message: "boom\n", color: "", severity: "error" } })), "error: boom");
        assert.strictEqual(describeEvent(event({ diagnosticEvent: { message: "chatter", color: "", severity: "info" } })), undefined);
        assert.strictEqual(
            describeEvent(
                event({
                    policyEvent: {
                        message: "xrdp must bind to 127.0.0.1",
                        color: "",
                        policyName: "rdp-local-only",
                        policyPackName: "workstation",
                        policyPackVersion: "0.1.0",
                        policyPackVersionTag: "",
                        enforcementLevel: "mandatory",
                    },
                }),
            ),
            "policy rdp-local-only (mandatory): xrdp must bind to 127.0.0.1",
        );
    });
});
