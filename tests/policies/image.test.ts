import * as assert from "assert";
import { imageAgeDays, imageNotStale } from "../../policies/image";
import { checkResource, command } from "./helpers";

const DAY = 86_400;
const now = Math.floor(Date.now() / 1000);
const prep = (bakedAt: number | undefined, maxAge = 14) =>
    command("ws-system-prep", {
        stdin: `#!/usr/bin/env bash\nWS_STAGE='system-prep'\n${bakedAt === undefined ? "" : `WS_IMAGE_BAKED_AT='${bakedAt}'\nWS_IMAGE_MAX_AGE_DAYS='${maxAge}'\n`}echo hi\n`,
    });

describe("image-not-stale", () => {
    it("warns about a workstation whose image is older than imageMaxAgeDays, naming the age and the limit", async () => {
        const { violations } = await checkResource(imageNotStale, prep(now - 20 * DAY - 60));
        assert.deepStrictEqual(violations, [
            '"ws-system-prep" starts from an image baked 20 days ago, more than imageMaxAgeDays (14): every start applies the security updates since; re-bake the image stack.',
        ]);
    });
    it("passes a recent image, an image exactly at the limit, and a workstation from a base image", async () => {
        assert.deepStrictEqual((await checkResource(imageNotStale, prep(now - 2 * DAY))).violations, []);
        assert.deepStrictEqual((await checkResource(imageNotStale, prep(now - 14 * DAY - 60))).violations, []);
        assert.deepStrictEqual((await checkResource(imageNotStale, prep(undefined))).violations, []);
    });
    it("is advisory: an old image still starts", () => {
        assert.strictEqual(imageNotStale.enforcementLevel, "advisory");
    });
    it("counts whole days", () => {
        assert.strictEqual(imageAgeDays(1_000_000, (1_000_000 + 2 * DAY - 1) * 1000), 1);
    });
});
