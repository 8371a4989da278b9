// The pack's rules, in the order they are reported. policies/index.ts only wires these
// into a PolicyPack; tests and the offline plan import this file, which starts nothing.
import { Policies } from "@pulumi/policy";
import { commandPolicies } from "./commands";
import { dropletPolicies } from "./droplet";
import { firewallPolicies } from "./firewall";
import { imagePolicies } from "./image";
import { stackPolicies } from "./stack";

export const PACK_NAME = "workstation-policies";

export const PACK_DESCRIPTION =
    "Guards for the DigitalOcean developer workstation: key-only access, no remote desktop on the internet, " +
    "sizes that fit the desktop, secrets kept out of logs, a provisioning graph in order, and a cost budget.";

export const policies: Policies = [...dropletPolicies, ...firewallPolicies, ...commandPolicies, ...imagePolicies, ...stackPolicies];
