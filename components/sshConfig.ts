// The `Host workstation-<stack>` block for ~/.ssh/config, so that `ssh workstation-<stack>`
// and editors that read the SSH config (VS Code Remote-SSH, Cursor, JetBrains Gateway)
// connect by name. Pure, so the outputs and the tests share it.
import { workstationName } from "./environment";

export interface SshConfigArgs {
    /** The stack; names the host alias, the key file and the known-hosts file. */
    stack: string;
    /** The droplet's address. */
    hostName: string;
    /** The workstation user. */
    user: string;
    /** Whether xrdp runs: then the block forwards local port 3389 to it. */
    desktop: boolean;
}

/** Where the README tells the user to save the private key. */
export function sshKeyFile(stack: string): string {
    return `~/.ssh/${workstationName(stack)}`;
}

/** Where the README tells the user to save the droplet's pinned host key line. */
export function sshKnownHostsFile(stack: string): string {
    return `~/.ssh/${workstationName(stack)}.known_hosts`;
}

export function sshHostAlias(stack: string): string {
    return workstationName(stack);
}

/**
 * The config block. Host keys are checked strictly against the stack's own known-hosts
 * file, so a replaced droplet (a new key at an old address) is refused rather than
 * trusted; keep-alives every 30 s, three missed, keep an idle editor session open
 * through NATs and notice a dead one within about 90 s.
 */
export function sshConfigBlock(args: SshConfigArgs): string {
    for (const [key, value] of Object.entries({ stack: args.stack, hostName: args.hostName, user: args.user })) {
        // A space or newline would end the directive early or start a new one.
        if (!/^[A-Za-z0-9._:-]+$/.test(value))
            throw new Error(`sshConfigBlock: ${key} ${JSON.stringify(value)} is not allowed; expected letters, digits, dots, colons, dashes or underscores`);
    }
    return [
        `Host ${sshHostAlias(args.stack)}`,
        `    HostName ${args.hostName}`,
        `    User ${args.user}`,
        `    IdentityFile ${sshKeyFile(args.stack)}`,
        "    IdentitiesOnly yes",
        `    UserKnownHostsFile ${sshKnownHostsFile(args.stack)}`,
        "    StrictHostKeyChecking yes",
        "    ServerAliveInterval 30",
        "    ServerAliveCountMax 3",
        // xrdp listens on the droplet's loopback only; this is the RDP tunnel.
        ...(args.desktop ? ["    LocalForward 3389 127.0.0.1:3389"] : []),
        "",
    ].join("\n");
}
