// `npm run deploy -- --env dev [--preview|--destroy]` or `-- --fleet fleet.yaml`: the entry point.
// Wires the driver to the real file system, environment and Automation API.
import * as fs from "fs";
import * as path from "path";
import { main } from "./driver";
import { pulumiStackProvider } from "./pulumiStacks";

const repoRoot = path.resolve(__dirname, "..");

main(process.argv.slice(2), {
    repoRoot,
    stacks: pulumiStackProvider(repoRoot),
    readFile: (file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined),
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    stream: (text) => process.stdout.write(text),
}).then(
    (code) => {
        process.exitCode = code;
    },
    (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
        process.exitCode = 1;
    },
);
