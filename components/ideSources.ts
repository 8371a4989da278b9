// Where each IDE comes from. The source file name and keyring path are the ones the
// vendor's own package writes on install: adding the repository under another name
// or key path makes the next `apt-get update` fail with "Conflicting values set for
// option Signed-By" (shared/notes/facts.md).

export const IDE_NAMES = ["vscode", "cursor", "antigravity"] as const;
export type IdeName = (typeof IDE_NAMES)[number];

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
    /** The package to install. Upstream renames happen (antigravity-ide): keep it in config. */
    package: string;
    /** Keyring path for `Signed-By`, as the vendor package writes it. */
    keyring: string;
    /** File under /etc/apt/sources.list.d/, as the vendor package writes it. */
    sourceName: string;
    /** The command the package installs; verify runs `<binary> --version`. */
    binary: string;
}

export const DEFAULT_IDE_SOURCES: Record<IdeName, IdeSource> = {
    vscode: {
        repoUrl: "https://packages.microsoft.com/repos/code",
        suite: "stable",
        components: "main",
        keyUrl: "https://packages.microsoft.com/keys/microsoft.asc",
        package: "code",
        keyring: "/usr/share/keyrings/microsoft.gpg",
        sourceName: "vscode.sources",
        binary: "code",
    },
    cursor: {
        repoUrl: "https://downloads.cursor.com/aptrepo",
        suite: "stable",
        components: "main",
        keyUrl: "https://downloads.cursor.com/keys/anysphere.asc",
        package: "cursor",
        keyring: "/usr/share/keyrings/anysphere.gpg",
        sourceName: "cursor.sources",
        binary: "cursor",
    },
    antigravity: {
        repoUrl: "https://us-central1-apt.pkg.dev/projects/antigravity-auto-updater-dev/",
        suite: "antigravity-debian",
        components: "main",
        keyUrl: "https://us-central1-apt.pkg.dev/doc/repo-signing-key.gpg",
        package: "antigravity",
        // Google's install instructions use this path (not checked against the package here).
        keyring: "/etc/apt/keyrings/antigravity-repo-key.gpg",
        sourceName: "antigravity.sources",
        binary: "antigravity",
    },
};
