// Which test host the runner uses: index and gateway are chosen before the program runs,
// because the stand-in IDE sources (config the program reads at start) name the gateway.

import * as fs from "fs";
import { sourcesFor, IdeSource } from "./standinRepo";
import type { TestHost } from "./testHost";

/** Host index N has gateway 10.213.N.1 (tools/local/testhost.sh); checked against the booted host. */
export function gatewayFor(index: number): string {
    return `10.213.${index}.1`;
}

/** Does host index N's veth exist on this machine (a host of any state dir holds N)? */
export function vethExists(index: number): boolean {
    return fs.existsSync(`/sys/class/net/wsth${index}`);
}

/**
 * The lowest index from 1 that no running host of ours uses and whose veth does not
 * exist (another state dir's host may hold it).
 */
export function nextFreeIndex(running: Pick<TestHost, "index">[], linkExists = vethExists): number {
    const used = new Set(running.map((h) => h.index));
    for (let i = 1; i <= 254; i++) {
        if (!used.has(i) && !linkExists(i)) return i;
    }
    throw new Error("no free test host index (1-254): stop some hosts with npm run local -- --down-all");
}

/** `workstation:ideSources` pointing every IDE at the stand-in repository on the gateway. */
export function standinIdeSources(index: number): Record<string, IdeSource> {
    return sourcesFor(gatewayFor(index));
}
