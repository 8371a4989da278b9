// data/do-sizes.json, read in one place: the program validates sizes against it, the
// policies and the plan price droplets with it, and the local target's mock cloud refuses
// sizes it does not list.
//
// The policy pack runs under the Pulumi CLI's own ts-node settings (module nodenext, no
// resolveJsonModule), so the table is read with fs rather than imported.
import * as fs from "fs";
import * as path from "path";

/** One row of data/do-sizes.json. */
export interface DropletSize {
    priceMonthly: number;
    vcpus: number;
    memoryMb: number;
    diskGb: number;
}

/** data/do-sizes.json: the project's one price and size table. */
export interface SizeTable {
    source: string;
    recorded: string;
    backupsSurcharge: number;
    sizes: Record<string, DropletSize>;
}

/** Where the table lives, relative to this file (components/ → ../data). */
export const SIZE_TABLE_PATH = path.join(__dirname, "..", "data", "do-sizes.json");
/** How messages name the table. */
export const SIZE_TABLE_NAME = "data/do-sizes.json";

let sizeTable: SizeTable | undefined;

/** The size table, read once. */
export function sizes(): SizeTable {
    if (!sizeTable) {
        const parsed = JSON.parse(fs.readFileSync(SIZE_TABLE_PATH, "utf8")) as SizeTable;
        if (!parsed.sizes || typeof parsed.backupsSurcharge !== "number") {
            throw new Error(`${SIZE_TABLE_PATH} has no "sizes" map or no numeric "backupsSurcharge"`);
        }
        sizeTable = parsed;
    }
    return sizeTable;
}

/** A size slug's row, or undefined when the table does not list it. */
export function sizeOf(slug: unknown): DropletSize | undefined {
    return typeof slug === "string" ? sizes().sizes[slug] : undefined;
}
