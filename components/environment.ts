// Which environment a stack is, decided in one place: the DigitalOcean project's
// environment and the policies' prod-only rules must never disagree about a stack.

/** `prod`, `production`, or any stack named `prod-…`. */
export function isProdStack(stack: string): boolean {
    return stack === "prod" || stack === "production" || stack.startsWith("prod-");
}

/** `staging`, `stage`, or any stack named `staging-…`. */
export function isStagingStack(stack: string): boolean {
    return stack === "staging" || stack === "stage" || stack.startsWith("staging-");
}

/**
 * `workstation-<stack>`: the name a stack's workstation goes by wherever a person sees it
 * (the droplet, the DigitalOcean project, the SSH host alias and key file, the home volume).
 */
export function workstationName(stack: string): string {
    return `workstation-${stack}`;
}

export function projectEnvironment(stack: string): "Development" | "Staging" | "Production" {
    if (isProdStack(stack)) return "Production";
    if (isStagingStack(stack)) return "Staging";
    return "Development";
}

/**
 * The droplet tag that says whether `npm run deploy -- stop-idle` stops the workstation:
 * `idle-stop:<minutes>` or `idle-stop:off` (config idleStopMinutes). It is how the policy
 * pack sees the setting (policies see resources, not config), and how a person sees it in
 * DigitalOcean's control panel. An image builder carries none (it never idles: its bake
 * deletes it).
 */
export const IDLE_STOP_TAG = "idle-stop";

export function idleStopTag(idleStopMinutes: number): string {
    return `${IDLE_STOP_TAG}:${idleStopMinutes === 0 ? "off" : String(idleStopMinutes)}`;
}
