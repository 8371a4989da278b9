// The provisioning stages and the graph that orders them. The graph is data so that
// the Workstation, the timing model, the offline plan and the policies all read the
// same dependencies.
import { IdeName } from "./ideSources";

export const STAGE_NAMES = [
    "wait-ready",
    "home-volume",
    "system-prep",
    "desktop",
    "ide-vscode",
    "ide-cursor",
    "ide-antigravity",
    "monitor",
    "verify",
    "harden",
    "report",
    "dotfiles",
] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** Stage name → the stages it waits for. */
export type StageGraph = Partial<Record<StageName, StageName[]>>;

/** What the program, the plan, the runner, the bench and the policies know about one stage. */
export interface StageDescriptor {
    name: StageName;
    /** The script under provisioning/ that does the stage's work (the three IDE stages share ide.sh). */
    script: string;
    /**
     * Expected seconds on a fresh s-2vcpu-4gb droplet (config stageEstimates overrides). The IDE
     * downloads dominate their stages; wait-ready covers the droplet's first boot.
     */
    estimateSeconds: number;
    /**
     * Upper bound in seconds (config stageTimeouts overrides): both the stage's
     * customTimeouts.create (which pulumi-command applies to the SSH dial only) and the limit
     * stage-bound.sh enforces on the host. wait-ready waits for a fresh droplet's first boot;
     * the others allow a slow mirror many times over their estimates.
     */
    timeoutSeconds: number;
    /** The IDE the stage installs, for the IDE stages only. */
    ide?: IdeName;
    /** An image holds the stage's work: it installs software for every workstation alike. */
    install: boolean;
    /**
     * The stages it waits for, when they are in the selection. When none of them is (a
     * chain: system-prep after home-volume, which only a home volume brings), it waits for
     * what they would have waited for; a join (verify) waits for those that are there.
     */
    after: readonly StageName[];
}

const MINUTES = 60;

/** Every stage, in STAGE_NAMES order. What each waits for is stageGraph's, below. */
export const STAGES: Readonly<Record<StageName, StageDescriptor>> = {
    "wait-ready": { name: "wait-ready", script: "wait-ready.sh", estimateSeconds: 90, timeoutSeconds: 15 * MINUTES, install: true, after: [] },
    "home-volume": { name: "home-volume", script: "home-volume.sh", estimateSeconds: 20, timeoutSeconds: 30 * MINUTES, install: false, after: ["wait-ready"] },
    "system-prep": { name: "system-prep", script: "system-prep.sh", estimateSeconds: 120, timeoutSeconds: 30 * MINUTES, install: true, after: ["home-volume"] },
    desktop: { name: "desktop", script: "desktop.sh", estimateSeconds: 240, timeoutSeconds: 30 * MINUTES, install: true, after: ["system-prep"] },
    "ide-vscode": {
        name: "ide-vscode",
        script: "ide.sh",
        estimateSeconds: 90,
        timeoutSeconds: 30 * MINUTES,
        ide: "vscode",
        install: true,
        after: ["system-prep"],
    },
    "ide-cursor": {
        name: "ide-cursor",
        script: "ide.sh",
        estimateSeconds: 90,
        timeoutSeconds: 30 * MINUTES,
        ide: "cursor",
        install: true,
        after: ["system-prep"],
    },
    "ide-antigravity": {
        name: "ide-antigravity",
        script: "ide.sh",
        estimateSeconds: 90,
        timeoutSeconds: 30 * MINUTES,
        ide: "antigravity",
        install: true,
        after: ["system-prep"],
    },
    monitor: { name: "monitor", script: "monitor.sh", estimateSeconds: 10, timeoutSeconds: 30 * MINUTES, install: true, after: ["system-prep"] },
    // The parallel stages, in the order the graph lists them (the IDEs in the config's order).
    verify: {
        name: "verify",
        script: "verify.sh",
        estimateSeconds: 15,
        timeoutSeconds: 30 * MINUTES,
        install: false,
        after: ["desktop", "ide-vscode", "ide-cursor", "ide-antigravity", "monitor", "dotfiles"],
    },
    harden: { name: "harden", script: "harden.sh", estimateSeconds: 20, timeoutSeconds: 30 * MINUTES, install: false, after: ["verify"] },
    report: { name: "report", script: "report.sh", estimateSeconds: 30, timeoutSeconds: 30 * MINUTES, install: false, after: ["harden"] },
    dotfiles: { name: "dotfiles", script: "dotfiles.sh", estimateSeconds: 30, timeoutSeconds: 30 * MINUTES, install: false, after: ["system-prep"] },
};

function perStage<T>(field: (d: StageDescriptor) => T): Record<StageName, T> {
    return Object.fromEntries(STAGE_NAMES.map((s) => [s, field(STAGES[s])])) as Record<StageName, T>;
}

/** Expected seconds per stage (StageDescriptor.estimateSeconds). */
export const DEFAULT_STAGE_ESTIMATES: Record<StageName, number> = perStage((d) => d.estimateSeconds);

/** Upper bound per stage, in seconds (StageDescriptor.timeoutSeconds). */
export const STAGE_TIMEOUT_SECONDS: Record<StageName, number> = perStage((d) => d.timeoutSeconds);

/** The stage that installs `ide`. */
export function ideStage(ide: IdeName): StageName {
    const stage = STAGE_NAMES.find((s) => STAGES[s].ide === ide);
    if (stage === undefined) throw new Error(`no stage installs the IDE ${JSON.stringify(ide)}`);
    return stage;
}

/** Stages that exist only when their setting is on. */
export interface OptionalStages {
    /** The dotfiles stage (config `dotfiles`). Default false. */
    dotfiles?: boolean;
    /** The home-volume stage (config `homeVolumeGb` above 0). Default false. */
    homeVolume?: boolean;
}

/**
 * The stage graph for a selection: wait-ready → (home-volume) → system-prep →
 * {desktop, IDEs, monitor, dotfiles} in parallel → verify → harden → report. The
 * parallel stages depend on system-prep only, never on each other. home-volume,
 * present with a home volume, puts /home on it before system-prep writes the user's
 * files (and so before dotfiles clones into the home).
 */
export function stageGraph(ides: readonly IdeName[], desktop: boolean, optional: OptionalStages = {}): StageGraph {
    const ideStages = ides.map(ideStage);
    const present = new Set<StageName>(STAGE_NAMES.filter((s) => !STAGES[s].ide));
    if (!desktop) present.delete("desktop");
    if (!optional.dotfiles) present.delete("dotfiles");
    if (!optional.homeVolume) present.delete("home-volume");
    for (const s of ideStages) present.add(s);
    // The IDE stages in the config's order, where the descriptors list IDE stages.
    const inConfigOrder = (stages: readonly StageName[]): StageName[] => {
        const firstIde = stages.findIndex((s) => STAGES[s].ide);
        if (firstIde === -1) return [...stages];
        const rest = stages.filter((s) => !STAGES[s].ide);
        return [...rest.slice(0, firstIde), ...ideStages, ...rest.slice(firstIde)];
    };
    const waitsFor = (stage: StageName): StageName[] => {
        const after = inConfigOrder(STAGES[stage].after);
        const there = after.filter((d) => present.has(d));
        return there.length > 0 || after.length === 0 ? there : [...new Set(after.flatMap(waitsFor))];
    };
    // Keys in the order the stages run in (dotfiles with the parallel ones): resources are
    // registered in this order, and the plan and the runner list them so.
    const order = inConfigOrder(STAGE_NAMES.filter((s) => s !== "dotfiles"));
    order.splice(order.indexOf("verify"), 0, "dotfiles");
    const graph: StageGraph = {};
    for (const stage of order.filter((s) => present.has(s))) graph[stage] = waitsFor(stage);
    return graph;
}

/**
 * The stages an image holds: what installs software for every workstation alike. The
 * per-workstation stages (dotfiles, verify, harden, report) run on each workstation,
 * and system-prep's per-user steps find nothing to skip there (generalise.sh removed them).
 */
export function installGraph(ides: readonly IdeName[], desktop: boolean): StageGraph {
    const full = stageGraph(ides, desktop);
    const graph: StageGraph = {};
    for (const stage of INSTALL_STAGES) if (stage in full) graph[stage] = full[stage];
    return graph;
}

export const INSTALL_STAGES: readonly StageName[] = STAGE_NAMES.filter((s) => STAGES[s].install);

/** The stages of a graph in an order where every stage follows its dependencies. */
export function topologicalOrder(graph: StageGraph): StageName[] {
    const order: StageName[] = [];
    const seen = new Set<StageName>();
    const visit = (stage: StageName, path: StageName[]): void => {
        if (path.includes(stage)) throw new Error(`stage graph has a cycle: ${[...path, stage].join(" → ")}`);
        if (seen.has(stage)) return;
        for (const dep of graph[stage] ?? []) {
            if (!(dep in graph)) throw new Error(`stage ${stage} depends on ${dep}, which is not in the graph`);
            visit(dep, [...path, stage]);
        }
        seen.add(stage);
        order.push(stage);
    };
    for (const stage of Object.keys(graph) as StageName[]) visit(stage, []);
    return order;
}
