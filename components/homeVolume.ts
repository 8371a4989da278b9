// Facts about DigitalOcean block storage volumes and the home volume built on them,
// in one place: the price, the sizes and regions DigitalOcean allows, the names it
// gives the device, and the fixed owner of the workstation user's files.
import volumes from "../data/do-volume-regions.json";
import { workstationName } from "./environment";

/** USD per GiB and month, billed whether or not a droplet is attached. */
export const VOLUME_PRICE_PER_GIB_MONTH: number = volumes.pricePerGibMonth;
/** DigitalOcean creates volumes from 1 GiB to 16 TiB. */
export const VOLUME_MIN_GIB: number = volumes.minGib;
export const VOLUME_MAX_GIB: number = volumes.maxGib;
/** Regions that offer volumes (data/do-volume-regions.json). */
export const VOLUME_REGIONS: readonly string[] = volumes.regions;

/**
 * The workstation user's UID and GID, the same on every droplet so that the files on
 * the home volume keep their owner when a new droplet mounts it. Above 1000, where
 * images create their default user (debian, ubuntu), so the two never collide.
 */
export const WORKSTATION_UID = 1500;
export const WORKSTATION_GID = 1500;

/** What a volume of this size costs per month, in USD, rounded to cents. */
export function volumeMonthlyPrice(sizeGib: number): number {
    return Math.round(sizeGib * VOLUME_PRICE_PER_GIB_MONTH * 100) / 100;
}

/**
 * The volume's name: the stack's only, never the username, size or region, so that
 * no config change but the stack itself renames (and so replaces) it. DigitalOcean
 * wants lower-case letters, digits and dashes, at most 64 characters.
 */
export function homeVolumeName(stack: string): string {
    return `${workstationName(stack)}-home`
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, "-")
        .slice(0, 64);
}

/** Where DigitalOcean's udev rules expose an attached volume on the droplet. */
export function volumeDevicePath(volumeName: string): string {
    return `/dev/disk/by-id/scsi-0DO_Volume_${volumeName}`;
}

/** DigitalOcean's rule for volume names. */
export function isVolumeName(name: string): boolean {
    return /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name) && name.length <= 64;
}
