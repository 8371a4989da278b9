// Writes the timeline page for a run's stack outputs; shared by `npm run timeline`, the
// local runner and the bench.
import * as fs from "fs";
import * as path from "path";
import { timelineFromOutputs } from "./model";
import { renderHtml } from "./render";

/** Writes `file` (creating its folder) and returns its absolute path. */
export function writeTimelinePage(outputs: unknown, file: string, title: string): string {
    const html = renderHtml(timelineFromOutputs(outputs, title));
    const abs = path.resolve(file);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, html);
    return abs;
}
