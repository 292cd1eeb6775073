// Writes what this release stores for a node's local steps (removal delete, upgrade update) to
// tests/upgrade/stored-steps-<version>.json: `npx tsx tests/tools/captureStoredSteps.ts > tests/upgrade/stored-steps-X.json`
// once per release. Later releases' toolkits must still run these stored texts (tests/scripts/realSsh.test.ts).
import { ExistingServer, K3sAgent, K3sServer } from "../../components";
import { MockCloud, isSecretValue } from "../harness/mockCloud";
import { secret, K3S_YAML } from "../harness/fixtures";
(async () => {
  const cloud = await MockCloud.install({ fixture: { outputs: { "lab-1-k3s-kubeconfig": { stdout: K3S_YAML } } } });
  const host = (n: string, ip: string) => new ExistingServer(n, { publicIp: ip, location: "lab", user: "root", privateKey: secret("KEY"), insecureIgnoreHostKey: true }).host;
  const server = new K3sServer("lab-1-k3s", { host: host("lab-1", "192.0.2.1"), k3sVersion: "v1.33.6+k3s1" });
  new K3sAgent("lab-2-k3s", { host: host("lab-2", "192.0.2.2"), k3sVersion: "v1.33.6+k3s1", server });
  await cloud.settle();
  const out: Record<string, unknown> = {};
  for (const name of ["lab-2-k3s-removal", "lab-2-k3s-upgrade"]) {
    const i = cloud.named(name).inputs as any;
    const env = Object.fromEntries(Object.entries(i.environment).map(([k, v]) => [k, isSecretValue(v) ? "<secret: set by the test>" : v]));
    out[name] = { create: i.create, ...(i.delete ? { delete: i.delete } : {}), ...(i.update ? { update: i.update } : {}), environment: env };
  }
  process.stdout.write(JSON.stringify(out, null, 2) + "\n");
})();
