// `npm run deploy -- --env dev [--preview|--destroy]` or `-- --fleet fleet.yaml`: the entry point.
// Wires the driver to the real file system, environment and Automation API.
import * as fs from "fs";
import * as path from "path";
import { main } from "./driver";
import { ACTIVITY_FILE, HostTarget, IdleHosts, WARNED_FILE } from "./idle";
import { sshExec } from "../local/sshExec";
import { pulumiStackProvider } from "./pulumiStacks";

const repoRoot = path.resolve(__dirname, "..", "..");

/** Only the pinned host key is accepted (sshExec checks it before authenticating). */
const ssh = (target: HostTarget, command: string, stdin?: string) =>
    sshExec(
        { host: target.host, user: target.user, privateKey: target.privateKey, hostKey: target.hostKey, label: "stop-idle" },
        { command, stdin, dialErrorLimit: 2, perDialTimeout: 15 },
    );

const idleHosts: IdleHosts = {
    async read(target) {
        const res = await ssh(target, `date +%s; cat ${ACTIVITY_FILE}`);
        const [now, ...rest] = res.stdout.split("\n");
        return { now: Number(now), text: rest.join("\n") };
    },
    async warn(target, message) {
        await ssh(target, `sudo -n sh -c 'date +%s >${WARNED_FILE} && wall'`, `${message}\n`);
    },
};

main(process.argv.slice(2), {
    repoRoot,
    stacks: pulumiStackProvider(repoRoot),
    readFile: (file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined),
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    stream: (text) => process.stdout.write(text),
    idleHosts,
}).then(
    (code) => {
        process.exitCode = code;
    },
    (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exitCode = 1;
    },
);
