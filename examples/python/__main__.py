"""A Pulumi Python program using the MulticloudCluster component package: a home-lab server and two Vultr agents.

The SDK `pulumi_k3s_multicloud` is generated into ./sdks by
`pulumi package add https://github.com/<your mirror>/k3s-multicloud/plugin@v0.6.0`. This program was NOT run in this
repository's CI (no Pulumi CLI, no Python SDK generation there); the names below follow Pulumi's Python code generation
for the schema that `npm run schema` prints (tests/golden/component-schema.json).
"""

import pulumi
import pulumi_k3s_multicloud as k3s

config = pulumi.Config()

cluster = k3s.MulticloudCluster(
    "lab",
    k3s_version="v1.33.6+k3s1",
    ssh_public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFpSZXBsYWNlV2l0aFlvdXJPd25QdWJsaWNLZXk ops@example",
    ssh_allowed_cidrs=["198.51.100.0/24"],
    nodes=[
        k3s.NodeSpecArgs(
            name="home-1",
            role=k3s.NodeRole.SERVER,
            cloud=k3s.NodeCloud.EXISTING,
            public_ip="203.0.113.10",
            private_ip="192.168.1.20",
            location="home-lab",
            user="ubuntu",
            host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFJlcGxhY2VXaXRoWW91ckhvc3RLZXlPZkhvbWUx",
        ),
        k3s.NodeSpecArgs(
            name="tokyo",
            role=k3s.NodeRole.AGENT,
            cloud=k3s.NodeCloud.VULTR,
            region="nrt",
            plan="vc2-1c-2gb",
            os_id=2284,
            count=2,
        ),
    ],
    node_labels={"tokyo-2": {"example.com/tier": "edge"}},
    secrets={"sshPrivateKey": config.require_secret("sshPrivateKey")},
)

pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("api_endpoint", cluster.api_endpoint)
pulumi.export("nodes", cluster.nodes)
