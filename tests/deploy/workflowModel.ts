// Reading GitHub Actions workflow files and the README's CI section into plain data the
// workflow tests compare. Only what this repository's workflows use is modelled; anything
// else (matrix include/exclude, reusable workflows) is an error, so the tests never pass by
// not understanding a file.
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const WORKFLOW_DIR = path.join(REPO_ROOT, ".github", "workflows");

export type Dict = Record<string, unknown>;

export interface Step {
    job: string;
    /** The job's matrix values this copy of the step runs with ({} without a matrix). */
    matrix: Record<string, string>;
    name?: string;
    /** The step's `if`, as written. */
    if?: string;
    uses?: string;
    /** `run`, with `${{ matrix.x }}` substituted. */
    run?: string;
    /** `with`, values as strings with `${{ matrix.x }}` substituted. */
    with: Record<string, string>;
    env: Record<string, string>;
}

export interface Job {
    id: string;
    raw: Dict;
    needs: string[];
    environment?: string;
    if?: string;
    /** One entry per matrix combination ([{}] without a matrix). */
    matrix: Record<string, string>[];
    steps: Step[];
}

export interface Workflow {
    file: string;
    text: string;
    raw: Dict;
    triggers: string[];
    jobs: Job[];
}

function asDict(value: unknown, where: string): Dict {
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${where}: expected a mapping`);
    return value as Dict;
}

function matrixCombinations(job: Dict, where: string): Record<string, string>[] {
    const strategy = job.strategy === undefined ? undefined : asDict(job.strategy, `${where}.strategy`);
    if (!strategy || strategy.matrix === undefined) return [{}];
    const matrix = asDict(strategy.matrix, `${where}.strategy.matrix`);
    let combos: Record<string, string>[] = [{}];
    for (const [key, values] of Object.entries(matrix)) {
        if (key === "include" || key === "exclude" || !Array.isArray(values)) {
            throw new Error(`${where}: matrix ${key} is not a plain list; teach workflowModel.ts to read it`);
        }
        combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: String(v) })));
    }
    return combos;
}

export function substituteMatrix(text: string, matrix: Record<string, string>): string {
    return text.replace(/\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}/g, (whole, key: string) => matrix[key] ?? whole);
}

function stringMap(value: unknown, matrix: Record<string, string>, where: string): Record<string, string> {
    if (value === undefined) return {};
    return Object.fromEntries(Object.entries(asDict(value, where)).map(([k, v]) => [k, substituteMatrix(String(v), matrix)]));
}

export function parseWorkflow(file: string, text: string): Workflow {
    const raw = asDict(parseYaml(text), file);
    // YAML 1.2 keeps `on` a string key; a YAML 1.1 reader would turn it into `true`.
    const on = raw.on;
    const triggers = typeof on === "string" ? [on] : Array.isArray(on) ? on.map(String) : Object.keys(asDict(on, `${file}: on`));
    const jobs = Object.entries(asDict(raw.jobs, `${file}: jobs`)).map(([id, value]): Job => {
        const where = `${file}: jobs.${id}`;
        const job = asDict(value, where);
        if (job.uses !== undefined) throw new Error(`${where}: reusable workflows are not modelled`);
        const needs = job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs.map(String) : [String(job.needs)];
        const env = job.environment;
        const environment = env === undefined ? undefined : typeof env === "string" ? env : String(asDict(env, `${where}.environment`).name);
        const matrix = matrixCombinations(job, where);
        const rawSteps = Array.isArray(job.steps) ? job.steps : [];
        const steps = matrix.flatMap((m) =>
            rawSteps.map((s, i): Step => {
                const step = asDict(s, `${where}.steps[${i}]`);
                return {
                    job: id,
                    matrix: m,
                    name: typeof step.name === "string" ? step.name : undefined,
                    if: typeof step.if === "string" ? step.if : undefined,
                    uses: typeof step.uses === "string" ? step.uses : undefined,
                    run: typeof step.run === "string" ? substituteMatrix(step.run, m) : undefined,
                    with: stringMap(step.with, m, `${where}.steps[${i}].with`),
                    env: stringMap(step.env, m, `${where}.steps[${i}].env`),
                };
            }),
        );
        return { id, raw: job, needs, environment, if: typeof job.if === "string" ? job.if : undefined, matrix, steps };
    });
    return { file, text, raw, triggers, jobs };
}

export function loadWorkflows(dir: string = WORKFLOW_DIR): Workflow[] {
    const files = fs.existsSync(dir)
        ? fs
              .readdirSync(dir)
              .filter((f) => /\.ya?ml$/.test(f))
              .sort()
        : [];
    return files.map((f) => parseWorkflow(f, fs.readFileSync(path.join(dir, f), "utf8")));
}

/** Names referenced as `${{ <context>.NAME }}` anywhere in the text (comments excluded). */
export function contextRefs(text: string, context: "secrets" | "vars"): Set<string> {
    const names = new Set<string>();
    const code = text
        .split("\n")
        .map((l) => l.replace(/(^|\s)#.*$/, ""))
        .join("\n");
    for (const expr of code.matchAll(/\$\{\{([\s\S]*?)\}\}/g)) {
        for (const m of expr[1].matchAll(new RegExp(`\\b${context}\\.([A-Za-z_][A-Za-z0-9_]*)`, "g"))) names.add(m[1]);
    }
    return names;
}

/** Every `npm run <script>` in the workflow's run steps. */
export function npmScripts(workflows: readonly Workflow[]): Set<string> {
    const scripts = new Set<string>();
    for (const wf of workflows) {
        for (const job of wf.jobs) {
            for (const step of job.steps) {
                for (const m of (step.run ?? "").matchAll(/\bnpm run(?:-script)? ([A-Za-z0-9:_.-]+)/g)) scripts.add(m[1]);
            }
        }
    }
    return scripts;
}

export interface PulumiStep extends Step {
    workflow: string;
    command: string;
    stack: string;
}

export function pulumiSteps(workflows: readonly Workflow[]): PulumiStep[] {
    return workflows.flatMap((wf) =>
        wf.jobs.flatMap((job) =>
            job.steps
                .filter((s) => s.uses?.startsWith("pulumi/actions"))
                .map((s) => ({ ...s, workflow: wf.file, command: s.with.command ?? "", stack: s.with["stack-name"] ?? "" })),
        ),
    );
}

/** `Pulumi.<stack>.yaml` files at the repository root, except fleet stacks (`<env>-<name>`). */
export function stackFiles(root: string = REPO_ROOT, envs: readonly string[]): string[] {
    return fs
        .readdirSync(root)
        .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined && !envs.some((env) => s.startsWith(`${env}-`)))
        .sort();
}

// ---- README ---------------------------------------------------------------------------------

export function readmeSection(readme: string, name: string): string {
    const start = readme.indexOf(`<!-- section:${name} -->`);
    const end = readme.indexOf(`<!-- /section:${name} -->`);
    if (start === -1 || end === -1 || end < start) throw new Error(`README has no section ${name}`);
    return readme.slice(start, end);
}

/** Every Markdown table in the text, as rows keyed by lower-cased header, backticks removed. */
export function markdownTables(text: string): Array<Record<string, string>[]> {
    const tables: Array<Record<string, string>[]> = [];
    const lines = text.split("\n");
    const cells = (line: string): string[] =>
        line
            .trim()
            .replace(/^\||\|$/g, "")
            .split("|")
            .map((c) => c.trim());
    for (let i = 0; i < lines.length; i++) {
        if (!lines[i].trim().startsWith("|") || !/^\|?\s*:?-{3,}/.test(lines[i + 1]?.trim() ?? "")) continue;
        const header = cells(lines[i]).map((h) => h.toLowerCase());
        const rows: Record<string, string>[] = [];
        for (i += 2; i < lines.length && lines[i].trim().startsWith("|"); i++) {
            const row = cells(lines[i]);
            rows.push(Object.fromEntries(header.map((h, c) => [h, (row[c] ?? "").replace(/`/g, "")])));
        }
        tables.push(rows);
    }
    return tables;
}

export interface ReadmeCi {
    /** `<workflow file>:<job id>` */
    jobs: Set<string>;
    /** `<workflow file>:<trigger>` */
    triggers: Set<string>;
    secrets: Set<string>;
    variables: Set<string>;
    environments: Set<string>;
}

/** The CI section's job table (workflow | trigger | job | …) and settings table (kind | name | …). */
export function readReadmeCi(section: string): ReadmeCi {
    const result: ReadmeCi = { jobs: new Set(), triggers: new Set(), secrets: new Set(), variables: new Set(), environments: new Set() };
    let sawJobs = false;
    let sawSettings = false;
    for (const table of markdownTables(section)) {
        for (const row of table) {
            if ("workflow" in row && "job" in row && "trigger" in row) {
                sawJobs = true;
                result.jobs.add(`${row.workflow}:${row.job}`);
                result.triggers.add(`${row.workflow}:${row.trigger}`);
            } else if ("kind" in row && "name" in row) {
                sawSettings = true;
                const bucket = { secret: result.secrets, variable: result.variables, environment: result.environments }[row.kind];
                if (!bucket) throw new Error(`README CI settings table: kind ${JSON.stringify(row.kind)} is not secret, variable or environment`);
                bucket.add(row.name);
            }
        }
    }
    if (!sawJobs) throw new Error("README CI section has no table with workflow, trigger and job columns");
    if (!sawSettings) throw new Error("README CI section has no table with kind and name columns");
    return result;
}

/** What is only in `a` and what is only in `b`; both empty when the sets agree. */
export function difference(a: Iterable<string>, b: Iterable<string>): { onlyInFirst: string[]; onlyInSecond: string[] } {
    const setA = new Set(a);
    const setB = new Set(b);
    return {
        onlyInFirst: [...setA].filter((x) => !setB.has(x)).sort(),
        onlyInSecond: [...setB].filter((x) => !setA.has(x)).sort(),
    };
}
