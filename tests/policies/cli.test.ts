// Starts the pack the way `pulumi preview --policy-pack policies` does, without the CLI:
// the CLI's pulumi-analyzer-policy shim runs @pulumi/pulumi/cmd/run-policy-pack with
// policies/ as the working directory (ts-node with the CLI's own compiler options, no
// tsconfig there), then talks to the printed port over gRPC. This proves that the pack
// compiles under those options, finds its package.json version, resolves its
// dependencies from the root node_modules, and answers Analyze with our messages.
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as pb from "@pulumi/pulumi/proto/analyzer_pb";
import { policies } from "../../policies/policies";

/** The analyzer server sends a violation as the policy's description, a newline, then the message. */
function wire(policyName: string, message: string): string {
    const policy = policies.find((p) => p.name === policyName);
    return `${policy?.description}\n${message}`;
}

const POLICIES_DIR = path.join(__dirname, "..", "..", "policies");
/** How the engine marks a secret value on the wire. */
const SECRET = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };

function call<Req, Res>(fn: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

describe("the pack as the Pulumi CLI starts it", function () {
    this.timeout(120000);
    let child: ChildProcess | undefined;
    let client: AnalyzerClient;
    let stderr = "";

    before(async () => {
        const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [POLICIES_DIR] });
        child = spawn(process.execPath, [runner, "127.0.0.1:0", "."], { cwd: POLICIES_DIR, stdio: ["ignore", "pipe", "pipe"] });
        child.stderr?.on("data", (d) => (stderr += d));
        const port = await new Promise<string>((resolve, reject) => {
            let out = "";
            child?.stdout?.on("data", (d) => {
                out += d;
                const m = /^(\d+)\s*$/m.exec(out);
                if (m) resolve(m[1]);
            });
            child?.on("exit", (code) => reject(new Error(`policy pack exited with ${code} before printing its port:\n${stderr}`)));
        });
        client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(() => {
        client?.close();
        child?.kill();
    });

    async function analyze(type: string, name: string, props: Record<string, unknown>, stack = "dev"): Promise<Array<[string, string, number]>> {
        const req = new pb.AnalyzeRequest();
        req.setType(type);
        req.setName(name);
        req.setUrn(`urn:pulumi:${stack}::workstation::${type}::${name}`);
        req.setProperties(Struct.fromJavaScript(props as Record<string, never>));
        req.setOptions(new pb.AnalyzerResourceOptions());
        const res = await call<pb.AnalyzeRequest, pb.AnalyzeResponse>(client.analyze.bind(client), req);
        return res.getDiagnosticsList().map((d) => [d.getPolicyname(), d.getMessage(), d.getEnforcementlevel()]);
    }

    it("reports its name, the version from policies/package.json, and every policy", async () => {
        const info = await call<Empty, pb.AnalyzerInfo>(client.getAnalyzerInfo.bind(client), new Empty());
        assert.strictEqual(info.getName(), "workstation-policies");
        assert.strictEqual(info.getVersion(), "0.1.0");
        assert.strictEqual(info.getSupportsconfig(), true);
        assert.deepStrictEqual(
            info.getPoliciesList().map((p) => p.getName()),
            policies.map((p) => p.name),
        );
    });

    it("flags a bad droplet with the rules' messages and levels", async () => {
        const diags = await analyze("digitalocean:index/droplet:Droplet", "ws-droplet", {
            size: "s-2vcpu-4gb",
            image: "debian-13-x64",
            region: "fra1",
            sshKeys: [],
            monitoring: true,
            tags: ["environment:dev", "owner:alice"],
        });
        assert.deepStrictEqual(diags, [
            [
                "droplet-ssh-key-required",
                wire("droplet-ssh-key-required", 'Droplet "ws-droplet" has no SSH key: set sshKeys so that login is by key, never by a root password.'),
                pb.EnforcementLevel.MANDATORY,
            ],
        ]);
    });

    it("sees a secret stdin as its value and applies a level set by policy config", async () => {
        const cfg = new pb.ConfigureAnalyzerRequest();
        const level = new pb.PolicyConfig();
        level.setEnforcementlevel(pb.EnforcementLevel.ADVISORY);
        level.setProperties(Struct.fromJavaScript({ secretStages: [] }));
        cfg.getPolicyconfigMap().set("remote-command-secrets-not-logged", level);
        await call<pb.ConfigureAnalyzerRequest, Empty>(client.configure.bind(client), cfg);
        const diags = await analyze("command:remote:Command", "ws-system-prep", {
            connection: { ...SECRET, value: { host: "203.0.113.10", user: "root" } },
            create: "bash -s",
            stdin: { ...SECRET, value: "WS_PASSWORD='hunter2'\nset -euo pipefail\n" },
            logging: "stdoutAndStderr",
        });
        assert.deepStrictEqual(diags, [
            [
                "remote-command-secrets-not-logged",
                wire(
                    "remote-command-secrets-not-logged",
                    'Command "ws-system-prep" handles secrets (stdin sets WS_PASSWORD=) but logging is "stdoutAndStderr": ' +
                        'set logging: "none" so that the secret never reaches the logs.',
                ),
                pb.EnforcementLevel.ADVISORY,
            ],
        ]);
    });
});
