/** The resource type tokens the mocks answer for and the tests talk about. */
export const TYPES = {
    swasInstance: "alicloud:simpleapplicationserver/instance:Instance",
    swasFirewallRule: "alicloud:simpleapplicationserver/firewallRule:FirewallRule",
    alicloudProvider: "pulumi:providers:alicloud",
    randomPassword: "random:index/randomPassword:RandomPassword",
    vultrInstance: "vultr:index/instance:Instance",
    vultrSshKey: "vultr:index/sSHKey:SSHKey",
    vultrFirewallGroup: "vultr:index/firewallGroup:FirewallGroup",
    vultrFirewallRule: "vultr:index/firewallRule:FirewallRule",
    remoteCommand: "command:remote:Command",
} as const;
