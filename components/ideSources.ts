// Where each IDE comes from. The source file name and keyring path are the ones the
// vendor's own package writes on install: adding the repository under another name
// or key path makes the next `apt-get update` fail with "Conflicting values set for
// option Signed-By" (shared/notes/facts.md).
//
// Vendors rename packages (since May 2026 the Antigravity IDE is `antigravity-ide`,
// and `antigravity` is Google's agent manager app), so each IDE names an ordered list
// of candidate packages: the IDE stage installs the first one its repository offers
// and reports which one it chose.

export const IDE_NAMES = ["vscode", "cursor", "antigravity"] as const;
export type IdeName = (typeof IDE_NAMES)[number];

/** One package that may provide an IDE, and the command it installs. */
export interface IdeCandidate {
    /** Debian package name. */
    package: string;
    /** The command the package installs; verify runs `<command> --version`. */
    command: string;
}

/** An apt repository that provides one IDE. Every field can be overridden for a mirror. */
export interface IdeSource {
    /** deb822 `URIs`. */
    repoUrl: string;
    /** deb822 `Suites`. */
    suite: string;
    /** deb822 `Components`, space-separated. */
    components: string;
    /** The repository's signing key (armored keys are dearmored on the host). */
    keyUrl: string;
    /** Keyring path for `Signed-By`, as the vendor package writes it. */
    keyring: string;
    /** File under /etc/apt/sources.list.d/, as the vendor package writes it. */
    sourceName: string;
    /** Packages that provide the IDE, in order of preference: the first the repository offers wins. */
    candidates: IdeCandidate[];
}

/** The fields of an IdeSource, in the order the README and errors list them. */
export const IDE_SOURCE_FIELDS = ["repoUrl", "suite", "components", "keyUrl", "keyring", "sourceName", "candidates"] as const;

export const DEFAULT_IDE_SOURCES: Record<IdeName, IdeSource> = {
    vscode: {
        repoUrl: "https://packages.microsoft.com/repos/code",
        suite: "stable",
        components: "main",
        keyUrl: "https://packages.microsoft.com/keys/microsoft.asc",
        keyring: "/usr/share/keyrings/microsoft.gpg",
        sourceName: "vscode.sources",
        candidates: [{ package: "code", command: "code" }],
    },
    cursor: {
        repoUrl: "https://downloads.cursor.com/aptrepo",
        suite: "stable",
        components: "main",
        keyUrl: "https://downloads.cursor.com/keys/anysphere.asc",
        keyring: "/usr/share/keyrings/anysphere.gpg",
        sourceName: "cursor.sources",
        candidates: [{ package: "cursor", command: "cursor" }],
    },
    antigravity: {
        repoUrl: "https://us-central1-apt.pkg.dev/projects/antigravity-auto-updater-dev/",
        suite: "antigravity-debian",
        components: "main",
        keyUrl: "https://us-central1-apt.pkg.dev/doc/repo-signing-key.gpg",
        // Google's install instructions use this path (not checked against the package here).
        keyring: "/etc/apt/keyrings/antigravity-repo-key.gpg",
        sourceName: "antigravity.sources",
        // The IDE since May 2026; before that the IDE was `antigravity`, which now names the
        // agent manager: a repository that still offers only the old name gets the old IDE.
        candidates: [
            { package: "antigravity-ide", command: "antigravity-ide" },
            { package: "antigravity", command: "antigravity" },
        ],
    },
};

/** `package=command` pairs, space-separated: how the IDE stage receives the candidates. */
export function candidatesVariable(candidates: IdeCandidate[]): string {
    return candidates.map((c) => `${c.package}=${c.command}`).join(" ");
}
