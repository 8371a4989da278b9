import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseConfig } from "../../components/config";
import { isBranchName, isGitUrl } from "../../components/dotfiles";
import { Workstation, dotfilesAlerts } from "../../components/workstation";
import { registrations, settle, unwrap, valueOf } from "./mocks";
import { runProgram, stackValues } from "./program";

function configWith(dotfiles: unknown) {
    const values = stackValues("dev", dotfiles === undefined ? {} : { dotfiles });
    return parseConfig(
        (k) => values[`workstation:${k}`],
        "dev",
        Object.keys(values).map((k) => k.slice("workstation:".length)),
    );
}

function problemsOf(dotfiles: unknown): string[] {
    try {
        configWith(dotfiles);
    } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.problems;
    }
    return [];
}

describe("config: dotfiles", () => {
    it("accepts a URL with an optional branch and install command", () => {
        assert.deepStrictEqual(configWith({ url: "https://github.com/alice/dotfiles.git" }).dotfiles, { url: "https://github.com/alice/dotfiles.git" });
        assert.deepStrictEqual(configWith({ url: "git@github.com:alice/dotfiles.git", branch: "feature/zsh", installCommand: "make install" }).dotfiles, {
            url: "git@github.com:alice/dotfiles.git",
            branch: "feature/zsh",
            installCommand: "make install",
        });
        assert.strictEqual(configWith(undefined).dotfiles, undefined);
        for (const url of ["ssh://git@example.com:2222/alice/dotfiles.git", "http://10.213.5.1:8743/dotfiles.git", "https://gitlab.example.com/a/b"]) {
            assert.ok(isGitUrl(url), url);
        }
    });

    const URL_ALLOWED = "a git URL: https://host/path, http://host/path (a mirror you trust), ssh://[user@]host[:port]/path or user@host:path";
    const cases: [string, unknown, string][] = [
        [
            "a plain string",
            "https://github.com/alice/dotfiles",
            `workstation:dotfiles: "https://github.com/alice/dotfiles" is not allowed; expected an object with url (required), branch and installCommand, e.g. {"url":"https://github.com/me/dotfiles.git"}`,
        ],
        ["no url", { branch: "main" }, `workstation:dotfiles.url: missing; expected ${URL_ALLOWED}`],
        ["a file URL", { url: "file:///etc" }, `workstation:dotfiles.url: "file:///etc" is not allowed; expected ${URL_ALLOWED}`],
        [
            "a URL with a newline",
            { url: "https://example.com/a\nb" },
            `workstation:dotfiles.url: "https://example.com/a\\nb" is not allowed; expected ${URL_ALLOWED}`,
        ],
        [
            "an option as URL",
            { url: "--upload-pack=touch /tmp/x" },
            `workstation:dotfiles.url: "--upload-pack=touch /tmp/x" is not allowed; expected ${URL_ALLOWED}`,
        ],
        [
            "a bad branch",
            { url: "https://example.com/a.git", branch: "feat..x" },
            `workstation:dotfiles.branch: "feat..x" is not allowed; expected a git branch name (no spaces, ~ ^ : ? * [ \\, "..", "@{", or a leading "-")`,
        ],
        [
            "a branch with a space",
            { url: "https://example.com/a.git", branch: "my branch" },
            `workstation:dotfiles.branch: "my branch" is not allowed; expected a git branch name (no spaces, ~ ^ : ? * [ \\, "..", "@{", or a leading "-")`,
        ],
        [
            "a two-line install command",
            { url: "https://example.com/a.git", installCommand: "make\nrm -rf ~" },
            `workstation:dotfiles.installCommand: "make\\nrm -rf ~" is not allowed; expected one shell command line of at most 1000 characters, no newlines`,
        ],
        [
            "an unknown field",
            { url: "https://example.com/a.git", ref: "v1" },
            "workstation:dotfiles.ref: unknown field; fields are url, branch, installCommand",
        ],
    ];
    for (const [what, value, message] of cases) {
        it(`refuses ${what}, naming key, value and what is allowed`, () => {
            assert.deepStrictEqual(problemsOf(value), [message]);
        });
    }

    it("knows git's branch name rules", () => {
        for (const ok of ["main", "feature/zsh", "v1.2", "a-b_c"]) assert.ok(isBranchName(ok), ok);
        for (const bad of ["", "-x", "a/", "/a", "a.lock", "a.", "a@{1}", "a//b", ".hidden", "a/.b", "x~1", "a:b", "@"]) assert.ok(!isBranchName(bad), bad);
    });
});

describe("the dotfiles stage", () => {
    async function build(dotfiles: unknown): Promise<{ ws: Workstation; deps: Record<string, string[]> }> {
        const config = configWith(dotfiles);
        const seen = new Map<string, pulumi.Resource[]>();
        registrations.length = 0;
        const ws = new Workstation(
            "df",
            { config, stack: "dev" },
            {
                transformations: [
                    (args) => {
                        if (args.type === "command:remote:Command") {
                            const d = args.opts.dependsOn;
                            seen.set(args.name, (Array.isArray(d) ? d : d ? [d] : []) as pulumi.Resource[]);
                        }
                        return undefined;
                    },
                ],
            },
        );
        await settle();
        const nameOf = new Map<pulumi.Resource, string>();
        for (const [stage, s] of Object.entries(ws.stages)) nameOf.set(s!.command, stage);
        return { ws, deps: Object.fromEntries([...seen].map(([n, d]) => [n.slice("df-".length), d.map((r) => nameOf.get(r) ?? "?").sort()])) };
    }

    it("exists only when dotfiles is set", async () => {
        const without = await build(undefined);
        assert.strictEqual(without.ws.stages.dotfiles, undefined);
        assert.ok(!("dotfiles" in without.deps));
        assert.ok(!registrations.some((r) => r.name.endsWith("-dotfiles")));
    });

    it("runs after system-prep, beside the others, before verify, with its settings in its script", async () => {
        const { deps } = await build({ url: "https://example.com/alice/dotfiles.git", branch: "main", installCommand: "make install" });
        assert.deepStrictEqual(deps.dotfiles, ["system-prep"]);
        assert.ok(deps.verify.includes("dotfiles"), JSON.stringify(deps.verify));
        for (const other of ["desktop", "ide-vscode", "monitor"]) assert.ok(!deps[other].includes("dotfiles"), other);
        const cmd = registrations.find((r) => r.type === "command:remote:Command" && r.name === "df-dotfiles")!;
        const stdin = String(unwrap(cmd.inputs.stdin));
        assert.match(stdin, /^WS_DOTFILES_URL='https:\/\/example\.com\/alice\/dotfiles\.git'$/m);
        assert.match(stdin, /^WS_DOTFILES_BRANCH='main'$/m);
        assert.match(stdin, /^WS_DOTFILES_INSTALL_COMMAND='make install'$/m);
        assert.match(stdin, /^dotfiles_main\(\) \{$/m);
    });

    it("turns a failed install into a warning alert with the tail of its output, and a good one into none", () => {
        assert.deepStrictEqual(dotfilesAlerts({ head: "abc", method: "install.sh", failure: { step: "install.sh", exitCode: 3, tail: "boom" } }), [
            {
                level: "warning",
                kind: "dotfiles",
                stage: "dotfiles",
                message: "dotfiles: install.sh exited with 3; last lines of its output:\nboom",
            },
        ]);
        assert.deepStrictEqual(dotfilesAlerts({ head: "abc", method: "install.sh", failure: null }), []);
        assert.deepStrictEqual(dotfilesAlerts(undefined), []);
    });

    it("is in the program's timings and adds no alert when the install succeeded", async () => {
        const outputs = await runProgram(stackValues("dev", { dotfiles: { url: "https://example.com/alice/dotfiles.git" } }));
        const timings = (await valueOf(outputs.timings)) as { stages: Record<string, unknown> };
        assert.ok("dotfiles" in timings.stages);
        const alerts = (await valueOf(outputs.alerts)) as { kind: string }[];
        assert.ok(!alerts.some((a) => a.kind === "dotfiles"));
    });
});
