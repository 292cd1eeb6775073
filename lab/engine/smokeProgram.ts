import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
const c = new command.local.Command("hello", { create: "echo hello; echo err >&2", triggers: ["a"] , addPreviousOutputInEnv: false});
const secret = pulumi.secret("s3cr3t-value");
export const out = c.stdout;
export const sec = secret;
