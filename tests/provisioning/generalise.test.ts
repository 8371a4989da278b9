// provisioning/generalise.sh on a root file system laid out like a provisioned builder's:
// what belongs to one user or one host goes, what the install stages made stays.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseGeneralised } from "../../components/image";
import { tempDir } from "./helpers";

const SCRIPT = path.join(__dirname, "..", "..", "provisioning", "generalise.sh");

function write(root: string, file: string, text: string, mode = 0o644): void {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text, { mode });
}

/** A builder's root after the install stages and the builder's own user and keys. */
function provisionedRoot(): string {
    const root = tempDir("ws-generalise");
    write(root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\nxrdp:x:110:110::/run/xrdp:/usr/sbin/nologin\ndev:x:1000:1000::/home/dev:/bin/bash\n");
    write(root, "etc/shadow", "root:$y$j9T$rootrootroot:20000:0:99999:7:::\nxrdp:!:20000::::::\ndev:$y$j9T$devdevdev:20000:0:99999:7:::\n", 0o640);
    write(root, "etc/group", "root:x:0:\nsudo:x:27:dev\nxrdp:x:110:\ndev:x:1000:\n");
    write(root, "etc/gshadow", "root:*::\nsudo:*::dev\nxrdp:!::\ndev:!::\n", 0o640);
    write(root, "home/dev/.ssh/authorized_keys", "ssh-ed25519 AAAAbuilder builder\n", 0o600);
    write(root, "root/.ssh/authorized_keys", "ssh-ed25519 AAAAdo do-key\n", 0o600);
    write(root, "etc/sudoers.d/90-workstation-dev", "dev ALL=(ALL) NOPASSWD:ALL\n", 0o440);
    write(root, "etc/ssh/ssh_host_ed25519_key", "PRIVATE\n", 0o600);
    write(root, "etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAAhost\n");
    write(root, "etc/ssh/ssh_host_rsa_key", "PRIVATE\n", 0o600);
    write(root, "etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\n");
    write(root, "etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    write(root, "var/lib/dbus/machine-id", "0123456789abcdef0123456789abcdef\n");
    write(root, "var/lib/cloud/instances/builder/sem/config_users_groups", "done\n");
    write(root, "var/lib/cloud/data/instance-id", "builder\n");
    write(root, "var/log/cloud-init.log", "lots\n");
    write(root, "var/log/syslog", "lines\n");
    write(root, "var/log/syslog.1", "old lines\n");
    write(root, "var/log/workstation/timing.csv", "stage,status\n");
    write(root, "var/lib/workstation/swap-unsupported", "");
    write(root, "var/lib/workstation/dotfiles.state", "abc\n");
    write(root, "var/lib/workstation/apt/vscode/lists/partial/.keep", "");
    write(root, "var/cache/apt/archives/code_1.0_amd64.deb", "deb");
    write(root, "var/cache/apt/pkgcache.bin", "bin");
    write(root, "var/lib/apt/lists/deb.debian.org_debian_dists_trixie_InRelease", "lists");
    write(root, "var/lib/apt/lists/lock", "");
    write(root, "etc/apt/sources.list.d/vscode.sources", "Types: deb\n");
    write(root, "usr/share/keyrings/microsoft.gpg", "key");
    write(root, "usr/local/lib/workstation/sample-resources", "#!/bin/bash\n", 0o755);
    write(root, "etc/systemd/system/workstation-monitor.service", "[Unit]\n");
    write(root, "etc/xrdp/xrdp.ini", "port=tcp://127.0.0.1:3389\n");
    write(
        root,
        "var/lib/dpkg/status",
        "Package: xrdp\nStatus: install ok installed\nArchitecture: amd64\nVersion: 0.10.1-1\n\n" +
            "Package: code\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.95.0-1\n\n",
    );
    fs.mkdirSync(path.join(root, "var/lib/dpkg/updates"), { recursive: true });
    return root;
}

function exists(root: string, file: string): boolean {
    return fs.existsSync(path.join(root, file));
}

describe("generalise.sh on a provisioned root", function () {
    this.timeout(30_000);
    let root: string;
    let stdout: string;
    before(() => {
        root = provisionedRoot();
        const res = spawnSync("bash", [SCRIPT, "--root", root, "--packages", "xrdp code cursor"], { encoding: "utf8" });
        assert.equal(res.status, 0, res.stderr);
        stdout = res.stdout;
    });

    it("removes the builder's user, home, key and sudoers file", () => {
        const passwd = fs.readFileSync(path.join(root, "etc/passwd"), "utf8");
        assert.doesNotMatch(passwd, /^dev:/m);
        assert.match(passwd, /^xrdp:/m, "system users the packages made stay");
        assert.doesNotMatch(fs.readFileSync(path.join(root, "etc/shadow"), "utf8"), /^dev:/m);
        assert.equal(exists(root, "home/dev"), false);
        assert.equal(exists(root, "etc/sudoers.d/90-workstation-dev"), false);
    });

    it("leaves root without a key or a password", () => {
        assert.equal(exists(root, "root/.ssh/authorized_keys"), false);
        assert.match(fs.readFileSync(path.join(root, "etc/shadow"), "utf8"), /^root:\*:/m);
    });

    it("removes every SSH host key and empties the machine-id", () => {
        assert.deepEqual(
            fs.readdirSync(path.join(root, "etc/ssh")).filter((f) => f.startsWith("ssh_host_")),
            [],
        );
        assert.equal(fs.readFileSync(path.join(root, "etc/machine-id"), "utf8"), "");
        assert.equal(exists(root, "var/lib/dbus/machine-id"), false);
    });

    it("makes cloud-init forget the instance and trims logs and apt caches", () => {
        assert.equal(exists(root, "var/lib/cloud/instances"), false);
        assert.equal(exists(root, "var/lib/cloud/data"), false);
        assert.equal(exists(root, "var/log/cloud-init.log"), false);
        assert.equal(fs.readFileSync(path.join(root, "var/log/syslog"), "utf8"), "");
        assert.equal(exists(root, "var/log/syslog.1"), false);
        assert.equal(exists(root, "var/cache/apt/archives/code_1.0_amd64.deb"), false);
        assert.equal(exists(root, "var/cache/apt/pkgcache.bin"), false);
        assert.deepEqual(
            fs.readdirSync(path.join(root, "var/lib/apt/lists")).filter((f) => f !== "partial"),
            ["lock"],
        );
    });

    it("removes the stages' per-host records so that those stages run again", () => {
        assert.equal(exists(root, "var/log/workstation"), false);
        assert.equal(exists(root, "var/lib/workstation/swap-unsupported"), false);
        assert.equal(exists(root, "var/lib/workstation/dotfiles.state"), false);
    });

    it("keeps what the install stages made, so that they skip on the image", () => {
        for (const kept of [
            "etc/apt/sources.list.d/vscode.sources",
            "usr/share/keyrings/microsoft.gpg",
            "var/lib/workstation/apt/vscode",
            "usr/local/lib/workstation/sample-resources",
            "etc/systemd/system/workstation-monitor.service",
            "etc/xrdp/xrdp.ini",
            "etc/ssh/sshd_config",
        ]) {
            assert.ok(exists(root, kept), `${kept} should stay`);
        }
    });

    it("prints what it removed and the installed versions on its result line (parseGeneralised reads it)", () => {
        const g = parseGeneralised(stdout);
        for (const r of ["user:dev", "/root/.ssh/authorized_keys", "/etc/ssh/ssh_host_ed25519_key", "/etc/machine-id"]) assert.ok(g.removed.includes(r), r);
        assert.deepEqual(g.packages, { xrdp: "0.10.1-1", code: "", cursor: "" }, "removed-but-configured and unknown packages are not installed");
        assert.ok(Math.abs(g.at - Date.now() / 1000) < 60, `at ${g.at} is now`);
    });

    it("refuses a package list with something that is no package name", () => {
        const res = spawnSync("bash", [SCRIPT, "--root", provisionedRoot(), "--packages", "xrdp;reboot"], { encoding: "utf8" });
        assert.equal(res.status, 2);
        assert.match(res.stderr, /'xrdp;reboot' is no package name/);
    });

    it("refuses a directory that is no root file system, naming it", () => {
        const res = spawnSync("bash", [SCRIPT, "--root", tempDir("ws-notroot")], { encoding: "utf8" });
        assert.equal(res.status, 2);
        assert.match(res.stderr, /\/etc is missing: not a root file system/);
    });
});
