// The `dotfiles` setting: a git repository cloned into the user's home and installed the
// way Codespaces does it (provisioning/dotfiles.sh). Validation lives here so that
// config.ts only calls it.

export interface DotfilesConfig {
    /** The repository: https://, http:// (a local mirror), ssh:// or user@host:path. */
    url: string;
    /** Branch to follow. Default: the repository's default branch. */
    branch?: string;
    /** Run instead of the repository's install script, in the clone, as the user. */
    installCommand?: string;
}

/** Scripts tried in this order, as Codespaces does; without one, the dotfiles are linked. */
export const DOTFILES_INSTALL_SCRIPTS = [
    "install.sh",
    "install",
    "bootstrap.sh",
    "bootstrap",
    "script/bootstrap",
    "setup.sh",
    "setup",
    "script/setup",
] as const;

const DOTFILES_FIELDS = ["url", "branch", "installCommand"] as const;

/** True when the string holds a control character (newlines included). */
function hasControl(value: string): boolean {
    return [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

const URL_ALLOWED = "a git URL: https://host/path, http://host/path (a mirror you trust), ssh://[user@]host[:port]/path or user@host:path";

/** A git URL the stage may hand to `git clone`. */
export function isGitUrl(value: string): boolean {
    if (hasControl(value) || /[\s'"`\\$;&|<>]/.test(value) || value.startsWith("-")) return false;
    if (/^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?\/[A-Za-z0-9._~%/+@-]+$/.test(value)) return true;
    if (/^ssh:\/\/([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+(:[0-9]{1,5})?\/[A-Za-z0-9._~%/+-]+$/.test(value)) return true;
    return /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/+-]+$/.test(value) && !value.includes("://");
}

/** `git check-ref-format --branch` rules, for a branch name. */
export function isBranchName(value: string): boolean {
    if (value === "" || value === "@" || value.length > 255) return false;
    if (hasControl(value) || /[ ~^:?*[\\]/.test(value)) return false;
    if (value.startsWith("-") || value.startsWith("/") || value.endsWith("/") || value.endsWith(".") || value.endsWith(".lock")) return false;
    if (value.includes("..") || value.includes("@{") || value.includes("//")) return false;
    return value.split("/").every((part) => part !== "" && !part.startsWith("."));
}

/**
 * Validates the raw `workstation:dotfiles` value (JSON text, or undefined when unset).
 * Problems are pushed as `<namespace>:dotfiles...: <value> is not allowed; expected ...`.
 */
export function parseDotfiles(raw: string | undefined, problems: string[], namespace = "workstation"): DotfilesConfig | undefined {
    if (raw === undefined) return undefined;
    const key = `${namespace}:dotfiles`;
    const objAllowed = `an object with url (required), branch and installCommand, e.g. {"url":"https://github.com/me/dotfiles.git"}`;
    let value: unknown;
    try {
        value = JSON.parse(raw);
    } catch {
        problems.push(`${key}: ${JSON.stringify(raw)} is not allowed; expected ${objAllowed}`);
        return undefined;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        problems.push(`${key}: ${JSON.stringify(value)} is not allowed; expected ${objAllowed}`);
        return undefined;
    }
    const fields = value as Record<string, unknown>;
    const before = problems.length;
    for (const field of Object.keys(fields)) {
        if (!(DOTFILES_FIELDS as readonly string[]).includes(field)) problems.push(`${key}.${field}: unknown field; fields are ${DOTFILES_FIELDS.join(", ")}`);
    }
    const { url, branch, installCommand } = fields;
    if (url === undefined) problems.push(`${key}.url: missing; expected ${URL_ALLOWED}`);
    else if (typeof url !== "string" || !isGitUrl(url)) problems.push(`${key}.url: ${JSON.stringify(url)} is not allowed; expected ${URL_ALLOWED}`);
    if (branch !== undefined && (typeof branch !== "string" || !isBranchName(branch))) {
        problems.push(
            `${key}.branch: ${JSON.stringify(branch)} is not allowed; expected a git branch name (no spaces, ~ ^ : ? * [ \\, "..", "@{", or a leading "-")`,
        );
    }
    if (
        installCommand !== undefined &&
        (typeof installCommand !== "string" || installCommand.trim() === "" || installCommand.length > 1000 || hasControl(installCommand))
    ) {
        problems.push(
            `${key}.installCommand: ${JSON.stringify(installCommand)} is not allowed; expected one shell command line of at most 1000 characters, no newlines`,
        );
    }
    if (problems.length > before) return undefined;
    return {
        url: url as string,
        ...(branch !== undefined ? { branch: branch as string } : {}),
        ...(installCommand !== undefined ? { installCommand: installCommand as string } : {}),
    };
}
