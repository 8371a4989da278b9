// The provisioning stages and the graph that orders them. The graph is data so that
// the Workstation, the timing model, the offline plan and the policies all read the
// same dependencies.
import { IdeName } from "./ideSources";

export const STAGE_NAMES = [
    "wait-ready", "home-volume", "system-prep", "desktop", "ide-vscode", "ide-cursor", "ide-antigravity",
    "monitor", "verify", "harden", "report", "dotfiles",
] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** Stage name → the stages it waits for. */
export type StageGraph = Partial<Record<StageName, StageName[]>>;

/**
 * Expected seconds per stage on a fresh s-2vcpu-4gb droplet. The IDE downloads
 * dominate their stages; wait-ready covers the droplet's first boot.
 */
export const DEFAULT_STAGE_ESTIMATES: Record<StageName, number> = {
    "wait-ready": 90,
    "home-volume": 20,
    "system-prep": 120,
    "desktop": 240,
    "ide-vscode": 90,
    "ide-cursor": 90,
    "ide-antigravity": 90,
    "monitor": 10,
    "verify": 15,
    "harden": 20,
    "report": 30,
    "dotfiles": 30,
};

/**
 * Upper bound per stage, in seconds: both the stage's customTimeouts.create (which
 * pulumi-command applies to the SSH dial only) and the limit stage-bound.sh enforces on
 * the host. wait-ready waits for a fresh droplet's first boot; the others allow a slow
 * mirror many times over their estimates.
 */
export const STAGE_TIMEOUT_SECONDS: Record<StageName, number> = {
    "wait-ready": 15 * 60,
    "home-volume": 30 * 60,
    "system-prep": 30 * 60,
    "desktop": 30 * 60,
    "ide-vscode": 30 * 60,
    "ide-cursor": 30 * 60,
    "ide-antigravity": 30 * 60,
    "monitor": 30 * 60,
    "verify": 30 * 60,
    "harden": 30 * 60,
    "report": 30 * 60,
    "dotfiles": 30 * 60,
};

export function ideStage(ide: IdeName): StageName {
    return `ide-${ide}`;
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
    const parallel: StageName[] = [
        ...(desktop ? ["desktop" as const] : []), ...ides.map(ideStage), "monitor",
        ...(optional.dotfiles ? ["dotfiles" as const] : []),
    ];
    const graph: StageGraph = optional.homeVolume
        ? { "wait-ready": [], "home-volume": ["wait-ready"], "system-prep": ["home-volume"] }
        : { "wait-ready": [], "system-prep": ["wait-ready"] };
    for (const stage of parallel) graph[stage] = ["system-prep"];
    graph.verify = parallel;
    graph.harden = ["verify"];
    graph.report = ["harden"];
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

export const INSTALL_STAGES: readonly StageName[] = ["wait-ready", "system-prep", "desktop", "ide-vscode", "ide-cursor", "ide-antigravity", "monitor"];

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
