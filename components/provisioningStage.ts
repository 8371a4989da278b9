import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { stageCommand } from "./stageCommand";
import { STAGE_TIMEOUT_SECONDS, StageName } from "./stages";
import { StageTiming, parseResult, parseTimingRecord } from "./timing";

export interface StageConnection {
    host: pulumi.Input<string>;
    user: pulumi.Input<string>;
    privateKey: pulumi.Input<string>;
    /**
     * The host's public key (`ssh-ed25519 AAAA…`). @pulumi/command then accepts only
     * this key and offers only its type; a host answering with another is refused
     * before the command runs.
     */
    hostKey: pulumi.Input<string>;
}

export interface ProvisioningStageArgs {
    /** Which stage this is; names the timing record it must print. */
    stage: StageName;
    /** Where to run it. Always sent as a secret. */
    connection: StageConnection;
    /** The assembled script (stageScript.assembleScript), sent on stdin to the stage command (stageCommand.ts). */
    script: pulumi.Input<string>;
    /** Values whose change runs the stage again (script hash, droplet id, a re-run token). */
    triggers: pulumi.Input<unknown>[];
    /** Stages that must finish first. The only source of ordering. */
    dependsOn?: pulumi.Resource[];
    /**
     * The stage handles secrets: nothing is streamed to the engine's log and stdout and
     * stderr are stored as secrets. Default false.
     */
    handlesSecrets?: boolean;
    /**
     * The first stage to reach a new droplet: SSH may answer 30 to 100 s after the droplet
     * is "active", longer than the default dial budget (about 11 s), so dial without a
     * limit and bound the dialing by `timeoutSeconds` instead. Default false.
     */
    waitForHost?: boolean;
    /**
     * Upper bound for the stage, in seconds: its customTimeouts.create (the SSH dial) and
     * the limit the host enforces on its script. Default STAGE_TIMEOUT_SECONDS[stage].
     */
    timeoutSeconds?: number;
}

/** One provisioning stage: a remote command over SSH plus the timing it reports. */
export class ProvisioningStage extends pulumi.ComponentResource {
    public readonly stage: StageName;
    public readonly command: command.remote.Command;
    /** The stage's timing record, parsed from its stdout. */
    public readonly timing: pulumi.Output<StageTiming>;
    /** The JSON the stage printed as its result (verify, report), if any. */
    public readonly result: pulumi.Output<unknown>;

    constructor(name: string, args: ProvisioningStageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("workstation:index:ProvisioningStage", name, {}, opts);
        this.stage = args.stage;
        const waitForHost = args.waitForHost ?? false;
        const timeoutSeconds = args.timeoutSeconds ?? STAGE_TIMEOUT_SECONDS[args.stage];

        this.command = new command.remote.Command(
            name,
            {
                connection: pulumi.secret({
                    host: args.connection.host,
                    user: args.connection.user,
                    privateKey: args.connection.privateKey,
                    hostKey: args.connection.hostKey,
                    // -1: keep dialing until the create timeout; a fresh droplet's sshd comes late.
                    dialErrorLimit: waitForHost ? -1 : 10,
                    perDialTimeout: 15,
                }),
                create: stageCommand(args.stage, timeoutSeconds),
                stdin: args.script,
                triggers: args.triggers,
                logging: args.handlesSecrets ? "none" : "stdoutAndStderr",
                // On an update the provider would send the previous stdout and stderr as SSH
                // environment variables, which sshd refuses (AcceptEnv), warning for each stage.
                addPreviousOutputInEnv: false,
            },
            {
                parent: this,
                dependsOn: args.dependsOn,
                customTimeouts: { create: `${timeoutSeconds}s` },
                additionalSecretOutputs: args.handlesSecrets ? ["stdout", "stderr"] : [],
            },
        );

        // The timing line holds only numbers and step names; a secret stage's stdout is
        // secret as a whole, but its timing need not hide the workstation's timings output.
        const stdout = this.command.stdout;
        this.timing = pulumi.unsecret(stdout.apply((out) => parseTimingRecord(args.stage, out ?? "")));
        this.result = stdout.apply((out) => parseResult(args.stage, out ?? ""));

        this.registerOutputs({ timing: this.timing, result: this.result });
    }
}
