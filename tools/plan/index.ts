// The offline plan: `npm run plan -- --stack <name>`. Evaluates the program under Pulumi
// mocks with the stack's config and executes nothing; prints the resource tree, the stage
// graph with estimated durations and critical path, the estimated monthly cost, and every
// policy's verdict. Exits 1 on a mandatory violation, 2 when the stack, its config or the
// policy config cannot be used. CI runs it on pull requests, without cloud secrets.
import * as fs from "fs";
import * as path from "path";
import { PolicyPackConfig } from "@pulumi/policy";
import { PlannedResource, PolicyVerdict, evaluatePolicies, validatePolicyConfig } from "../../policies/evaluate";
import { PACK_NAME, policies } from "../../policies/policies";
import { SIZE_TABLE_NAME, sizes, usd } from "../../policies/shared";
import { estimateMonthlyCost } from "../../policies/stack";
import { Schedule, duration, schedule } from "./schedule";
import { UsageError, parseFlags, usageFailure } from "../shared/cli";
import { StackConfig, StackFileError, loadStackConfig } from "../shared/stackConfig";
import type { StageGraph } from "../../components/stages";
import type { RecordedProgram } from "./record";
import { volumeMonthlyPrice } from "../../components/homeVolume";

/**
 * Running or stopped, and what a stop would save. A running stack outside prod that never
 * stops by itself is the policy droplet-idle-stop-outside-prod's advisory, among the verdicts.
 */
function lifecycleLines(config: { running: boolean; homeVolumeGb: number; idleStopMinutes: number }, total: number): string[] {
    if (!config.running) {
        return [`Lifecycle: stopped (no droplet): ${usd(total)} a month, the home volume; start with workstation:running true`];
    }
    return [
        `Lifecycle: running; stopped it would cost ${usd(volumeMonthlyPrice(config.homeVolumeGb))} a month (the home volume)` +
            (config.idleStopMinutes > 0
                ? `; stop-idle stops it after ${config.idleStopMinutes} idle minutes`
                : "; it never stops by itself (idleStopMinutes 0)"),
    ];
}

const ROOT = path.join(__dirname, "..", "..");
const PROGRAM = path.join(ROOT, "index.ts");
const WORKSTATION_TYPE = "workstation:index:Workstation";

const USAGE = `usage: npm run plan -- --stack <name> [--stack-file <path>] [--policy-config <path>]

  --stack <name>          the stack: reads Pulumi.<name>.yaml next to Pulumi.yaml
  --stack-file <path>     read this stack file instead (the stack name defaults to its Pulumi.<name>.yaml name)
  --policy-config <path>  policy config as for \`pulumi preview --policy-pack-config\`
                          (default: policies/config/<stack>.json when it exists)`;

interface Options {
    stack?: string;
    stackFile?: string;
    policyConfig?: string;
}

function parseArgs(argv: string[]): Options {
    let flags;
    try {
        flags = parseFlags(argv, { stack: { type: "string" }, "stack-file": { type: "string" }, "policy-config": { type: "string" } });
    } catch (e) {
        if (e instanceof UsageError) throw new UsageError(`${e.message}\n${USAGE}`);
        throw e;
    }
    const opts: Options = { stack: flags.stack, stackFile: flags["stack-file"], policyConfig: flags["policy-config"] };
    if (!opts.stack && !opts.stackFile) throw new UsageError(`no stack given\n${USAGE}`);
    return opts;
}

function loadPolicyConfig(file: string | undefined, stack: string): { file?: string; config?: PolicyPackConfig } {
    const explicit = file !== undefined;
    const chosen = file ?? path.join(ROOT, "policies", "config", `${stack}.json`);
    if (!fs.existsSync(chosen)) {
        if (explicit) throw new UsageError(`${chosen}: policy config file does not exist`);
        return {};
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(fs.readFileSync(chosen, "utf8"));
    } catch (e) {
        throw new UsageError(`${chosen}: not valid JSON: ${(e as Error).message}`);
    }
    const errors = validatePolicyConfig(policies, parsed);
    if (errors.length > 0) throw new UsageError(`${chosen}: invalid policy config:\n  - ${errors.join("\n  - ")}`);
    return { file: chosen, config: parsed as PolicyPackConfig };
}

function resourceTree(resources: readonly PlannedResource[]): string[] {
    const children = new Map<string | undefined, PlannedResource[]>();
    for (const r of resources) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
    const lines: string[] = [];
    const walk = (r: PlannedResource, prefix: string, last: boolean, root: boolean): void => {
        lines.push(`${prefix}${root ? "" : last ? "└─ " : "├─ "}${r.type}  ${r.name}`);
        const kids = children.get(r.urn) ?? [];
        const next = root ? prefix : prefix + (last ? "   " : "│  ");
        kids.forEach((k, i) => walk(k, next, i === kids.length - 1, false));
    };
    for (const root of children.get(undefined) ?? []) walk(root, "  ", true, true);
    return lines;
}

/** Each Workstation the program built, by name, with the stage graph it ran its commands by. */
function stageGraphsOf(recorded: RecordedProgram): Map<string, StageGraph> {
    const graphs = new Map<string, StageGraph>();
    for (const o of recorded.objects) {
        if (o.type !== WORKSTATION_TYPE) continue;
        const graph = (o.resource as unknown as { graph: StageGraph }).graph;
        if (Object.keys(graph).length > 0) graphs.set(o.name, graph);
    }
    return graphs;
}

function scheduleLines(ws: string, plan: Schedule): string[] {
    const width = Math.max(5, ...plan.stages.map((s) => s.stage.length));
    const lines = [`  ${"stage".padEnd(width)}  ${"estimate".padStart(8)}  ${"start".padStart(7)}  ${"finish".padStart(7)}  after`];
    for (const s of plan.stages) {
        lines.push(
            `  ${s.stage.padEnd(width)}  ${duration(s.estimate).padStart(8)}  ${duration(s.start).padStart(7)}  ${duration(s.finish).padStart(7)}  ${s.after.join(", ") || "-"}`,
        );
    }
    const saved = plan.sequential - plan.wallClock;
    lines.push(`  critical path${ws ? ` (${ws})` : ""}: ${plan.criticalPath.join(" → ")} = ${duration(plan.wallClock)}`);
    lines.push(`  one after another: ${duration(plan.sequential)}; in parallel saves ${duration(saved)}`);
    return lines;
}

function verdictLines(verdicts: PolicyVerdict[], resources: readonly PlannedResource[]): string[] {
    const nameOf = new Map(resources.map((r) => [r.urn, r.name]));
    const lines: string[] = [];
    for (const v of verdicts) {
        const status = v.findings.length > 0 ? (v.level === "mandatory" ? "FAIL" : "WARN") : v.applied > 0 ? "ok" : "n/a";
        const scope = v.kind === "stack" ? "stack" : `${v.applied} resource${v.applied === 1 ? "" : "s"}`;
        lines.push(`  ${status.padEnd(4)}  ${v.level.padEnd(9)}  ${v.policy} (${scope})`);
        for (const f of v.findings) {
            const about = f.urn ? ` [${nameOf.get(f.urn) ?? f.urn}]` : "";
            lines.push(`          ${f.message}${about}`);
        }
    }
    return lines;
}

async function main(argv: string[]): Promise<number> {
    const opts = parseArgs(argv);
    let stack: StackConfig;
    try {
        stack = loadStackConfig(ROOT, opts.stack, {}, { stackFile: opts.stackFile });
    } catch (e) {
        if (e instanceof StackFileError) throw new UsageError(e.message);
        throw e;
    }
    const policyConfig = loadPolicyConfig(opts.policyConfig, stack.stack);

    // The program reads its config through the runtime; set it before the program loads.
    process.env.PULUMI_CONFIG = JSON.stringify(stack.values);
    const { recordProgram } = await import("./record");
    let recorded;
    try {
        recorded = await recordProgram(PROGRAM, stack.project, stack.stack, stack.values, stack.secretKeys);
    } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        throw new UsageError(`${stack.stackFile}: the program rejected this stack's config:\n${message}`);
    }
    const { resources } = recorded;

    // Stage names and estimates as the program defines them.
    const { DEFAULT_STAGE_ESTIMATES } = await import("../../components/stages");
    const { loadConfig } = await import("../../components/config");
    const estimates: Record<string, number> = { ...DEFAULT_STAGE_ESTIMATES, ...loadConfig(stack.stack).stageEstimates };

    const out: string[] = [];
    const rel = path.relative(process.cwd(), stack.stackFile) || stack.stackFile;
    out.push(`Plan for stack ${stack.stack} (${rel}); offline: nothing is created and no command runs.`, "");
    out.push(`Resources (${resources.length})`, ...resourceTree(resources), "");

    for (const [ws, graph] of stageGraphsOf(recorded)) {
        out.push(`Stages${ws ? ` of ${ws}` : ""} (estimates from config stageEstimates, defaults in components/stages.ts)`);
        out.push(...scheduleLines(ws, schedule(graph, estimates)), "");
    }

    const table = sizes();
    const droplets = resources.filter((r) => r.type === "digitalocean:index/droplet:Droplet");
    const volumes = resources.filter((r) => r.type === "digitalocean:index/volume:Volume");
    const cost = estimateMonthlyCost(droplets, volumes);
    out.push(`Estimated monthly cost (${SIZE_TABLE_NAME}, recorded ${table.recorded})`);
    for (const l of cost.lines) {
        out.push(`  ${l.name}  ${l.size}  ${usd(l.base)}${l.backups > 0 ? ` + backups ${usd(l.backups)}` : ""}`);
    }
    for (const u of cost.unknown) out.push(`  ${u.name}  ${u.size}  not in the table`);
    out.push(`  total ${usd(cost.total)} a month`, "");
    out.push(...lifecycleLines(loadConfig(stack.stack), cost.total), "");

    const verdicts = await evaluatePolicies(policies, resources, { config: policyConfig.config });
    const policyRel = policyConfig.file ? path.relative(process.cwd(), policyConfig.file) : "none";
    out.push(`Policies (${PACK_NAME}; policy config: ${policyRel})`, ...verdictLines(verdicts, resources), "");

    const findings = verdicts.flatMap((v) => v.findings);
    const mandatory = findings.filter((f) => f.level === "mandatory").length;
    const advisory = findings.length - mandatory;
    out.push(
        mandatory > 0
            ? `FAILED: ${mandatory} mandatory violation${mandatory === 1 ? "" : "s"}, ${advisory} advisory.`
            : `OK: no mandatory violations, ${advisory} advisory.`,
    );
    process.stdout.write(out.join("\n") + "\n");
    return mandatory > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
        if (e instanceof UsageError) process.exit(usageFailure("plan", e));
        process.stderr.write(`plan: unexpected error: ${e instanceof Error ? e.stack : String(e)}\n`);
        process.exit(3);
    },
);
