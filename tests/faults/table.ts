// The faults table of tests/faults/README.md, made from results.json: recordResult rewrites
// it after each fault, and `npx ts-node -T tests/faults/table.ts` does it by hand. The
// table lives between two marker comments; the rest of the README is prose.
import * as fs from "fs";
import * as path from "path";

export const README_FILE = path.join(__dirname, "README.md");
const BEGIN = "<!-- faults-table: made from results.json by tests/faults/table.ts -->";
const END = "<!-- /faults-table -->";

/** How each fault is injected (the results file holds what happened, this what was done). */
export const INJECTED: Record<string, string> = {
    "1-dpkg-lock-held-90s": "from boot, a perl process in the host holds dpkg's lock and lock-frontend (fcntl, as apt does) for 90 s",
    "2-apt-proxy-unreachable-30s":
        "the moment the first real install's apt-get starts (polled inside the host every 20 ms), before its downloads, the host's route to the proxy becomes `unreachable` for 30 s",
    "3-sshd-late-60s": "the moment the host is up, ssh.socket and ssh.service stop for 60 s (nsenter)",
    "4-dpkg-sigkill": "the first dpkg that unpacks or configures is SIGKILLed (polled inside the host every 20 ms)",
    "5-reboot-during-parallel-stages":
        "while ide-vscode runs, `testhost.sh reboot`: the host's systemd shuts down (every session and process ends), its root boots again at its address",
    "6-vendor-repo-errors-bad-signature":
        "vscode's repository answers 503; cursor's InRelease has one signed letter changed (BADSIG); a server on the gateway in front of the stand-in",
    "7-disk-nearly-full": "after system-prep, an overlay on the host's /usr whose writable layer is a 20 MB tmpfs",
    "8-fail2ban-ban": "after a good run, root logins from this machine (refused after harden) until fail2ban bans the gateway",
    "9-stage-past-limit": '`stageTimeouts={"ide-vscode":2}`: the install is mid-way when its 2 s run out',
};

interface Row {
    fault: string;
    stack: string;
    outcome: string;
    secondsToConverge: number;
    faultedRunSeconds: number;
    convergingRunSeconds: number;
    at: string;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function renderTable(results: Record<string, Row>): string {
    const rows = Object.values(results)
        .sort((a, b) => Number.parseInt(a.fault, 10) - Number.parseInt(b.fault, 10))
        .map(
            (r) =>
                `| ${cell(r.fault)} | ${cell(r.stack)} | ${cell(INJECTED[r.fault] ?? "")} | ${cell(r.outcome)} | ${r.secondsToConverge} (${r.faultedRunSeconds} + ${r.convergingRunSeconds}; ${r.at.slice(0, 10)}) |`,
        );
    return [
        BEGIN,
        "| fault | stack | how it is injected | outcome (latest run, `results.json`) | s to converge (faulted run + next run; date) |",
        "|---|---|---|---|---|",
        ...rows,
        END,
    ].join("\n");
}

/** Rewrites the table in README between its markers from RESULTS_FILE's contents. */
export function writeReadmeTable(resultsFile: string, readme = README_FILE): void {
    const results = JSON.parse(fs.readFileSync(resultsFile, "utf8")) as Record<string, Row>;
    const text = fs.readFileSync(readme, "utf8");
    const a = text.indexOf(BEGIN);
    const b = text.indexOf(END);
    if (a < 0 || b < a) throw new Error(`${readme} has no faults table markers (${BEGIN} ... ${END})`);
    fs.writeFileSync(readme, text.slice(0, a) + renderTable(results) + text.slice(b + END.length));
}

if (require.main === module) writeReadmeTable(path.join(__dirname, "results.json"));
