// A DigitalOcean volume on the local target: a sparse file behind a loop device, its node
// made inside the test host's container where DigitalOcean's udev rules would put it
// (/dev/disk/by-id/scsi-0DO_Volume_<name>). Checked on these machines: a node made with
// `nsenter -m` into the nspawn container's mount namespace is readable by blkid and
// mountable inside (the host has no systemd, so nspawn sets no device policy).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { volumeDevicePath } from "../../components/homeVolume";

function run(cmd: string, args: string[]): string {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** Creates the volume's backing file (sparse, so 20 GiB costs only what is written) unless it exists. */
export function createVolumeFile(file: string, sizeGib: number): void {
    if (fs.existsSync(file)) return;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const fd = fs.openSync(file, "wx", 0o600);
    try {
        fs.ftruncateSync(fd, sizeGib * 1024 ** 3);
    } finally {
        fs.closeSync(fd);
    }
}

/** The loop devices backed by `file` (normally one). */
export function loopDevicesOf(file: string): string[] {
    const out = run("losetup", ["--associated", path.resolve(file), "--noheadings", "--output", "NAME"]);
    return out
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
}

/** The container's PID 1 as this machine sees it: the nspawn process's child. */
function containerInit(nspawnPid: number): number {
    const children = fs.readFileSync(`/proc/${nspawnPid}/task/${nspawnPid}/children`, "utf8").trim().split(/\s+/);
    const pid = Number(children[0]);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`nspawn ${nspawnPid} has no container process`);
    return pid;
}

/**
 * Attaches the volume to a running test host: a loop device for the file (the existing
 * one when there is one) and a block node for it at DigitalOcean's by-id path inside the
 * container. Returns the loop device.
 */
export function attachVolume(file: string, volumeName: string, host: { pid: number }): string {
    const loop = loopDevicesOf(file)[0] ?? run("losetup", ["--find", "--show", path.resolve(file)]);
    const [major, minor] = run("stat", ["-c", "%t %T", loop])
        .split(" ")
        .map((h) => parseInt(h, 16));
    const device = volumeDevicePath(volumeName);
    const init = String(containerInit(host.pid));
    run("nsenter", ["-t", init, "-m", "--", "mkdir", "-p", path.dirname(device)]);
    run("nsenter", ["-t", init, "-m", "--", "rm", "-f", device]);
    run("nsenter", ["-t", init, "-m", "--", "mknod", "-m", "0660", device, "b", String(major), String(minor)]);
    return loop;
}

/** Releases every loop device of the file (after the host that mounted it is gone). */
export function releaseVolume(file: string): void {
    for (const loop of loopDevicesOf(file)) run("losetup", ["--detach", loop]);
}

/** Deletes the volume: its loop devices, then its file. */
export function destroyVolume(file: string): void {
    releaseVolume(file);
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.host`, { force: true });
}
