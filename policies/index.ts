// Wiring only: the rules live in policies.ts. Importing this file starts the policy
// analyzer's gRPC server, so tests and the plan import policies.ts instead.
import { PolicyPack } from "@pulumi/policy";
import { PACK_DESCRIPTION, PACK_NAME, policies } from "./policies";

new PolicyPack(PACK_NAME, { description: PACK_DESCRIPTION, policies });
