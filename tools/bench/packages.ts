// The package set each stage installs, read from the provisioning scripts themselves, so
// that naive and floor install exactly what the program installs. tests/bench checks that
// every apt install in provisioning/*.sh is covered by what this finds.

import * as fs from "fs";
import * as path from "path";

export const PROVISIONING_DIR = path.resolve(__dirname, "..", "..", "provisioning");

/** Where each stage's packages are declared: the script and its readonly array. */
export const STAGE_PACKAGE_ARRAYS: readonly { stage: string; script: string; array: string }[] = [
    { stage: "system-prep", script: "system-prep.sh", array: "SP_BASE_PACKAGES" },
    { stage: "desktop", script: "desktop.sh", array: "DK_PACKAGES" },
    { stage: "harden", script: "harden.sh", array: "HD_PACKAGES" },
];

/** The elements of `readonly NAME=(a b c)` (or `NAME=(...)`) in a bash script; throws when absent. */
export function parseBashArray(text: string, name: string, source = "script"): string[] {
    const re = new RegExp(`^[ \\t]*(?:readonly\\s+|declare\\s+-[a-zA-Z]+\\s+|local\\s+-a\\s+)?${name}=\\(`, "m");
    const m = re.exec(text);
    if (!m) throw new Error(`${source}: no array ${name}=(...) found`);
    // Scan to the closing parenthesis, dropping comments (which may hold parentheses).
    let body = "";
    let i = m.index + m[0].length;
    for (; i < text.length && text[i] !== ")"; i++) {
        if (text[i] === "#") {
            while (i < text.length && text[i] !== "\n") i++;
            body += " ";
        } else body += text[i];
    }
    if (i >= text.length) throw new Error(`${source}: ${name}=( is not closed`);
    const items = body.split(/\s+/).filter((s) => s !== "");
    for (const item of items) {
        if (!/^[a-z0-9][a-z0-9+.-]*(?::[a-z0-9]+)?$/.test(item)) {
            throw new Error(`${source}: ${name} holds ${JSON.stringify(item)}, not a plain Debian package name (quoting or expansions are not supported here)`);
        }
    }
    return items;
}

export interface IdePackage {
    ide: string;
    package: string;
}

export interface PackageSet {
    /** Distribution packages per stage, in stage order, as each script names them (harden repeats system-prep's). */
    stages: { stage: string; packages: string[] }[];
    /** IDE packages, each from its own repository (ide-<name> stages). */
    ides: IdePackage[];
}

/** Reads the stages' package arrays from provisioning/. */
export function stagePackages(dir = PROVISIONING_DIR): { stage: string; packages: string[] }[] {
    return STAGE_PACKAGE_ARRAYS.map(({ stage, script, array }) => ({
        stage,
        packages: parseBashArray(fs.readFileSync(path.join(dir, script), "utf8"), array, `provisioning/${script}`),
    }));
}

/** The stage packages and the IDE packages. */
export function packageSet(ides: readonly IdePackage[], dir = PROVISIONING_DIR): PackageSet {
    return { stages: stagePackages(dir), ides: [...ides] };
}

/** Every package name once, distribution ones first, in stage order. */
export function allPackages(set: PackageSet): string[] {
    return [...new Set([...set.stages.flatMap((s) => s.packages), ...set.ides.map((i) => i.package)])];
}
