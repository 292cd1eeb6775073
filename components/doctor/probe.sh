# shellcheck shell=bash
# What doctor asks each node: read-only facts, one `<fact><TAB><value>` per line. Sent by doctor itself over SSH (bash
# reads it from stdin), so a host with an older toolkit, or none, is still diagnosed. It changes nothing on the host.
# Arguments: the other members as name=publicIp, comma separated (TCP reachability from this node).
set -u
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
fact() { printf '%s\t%s\n' "$1" "$2"; }
root=${K3SMC_ROOT:-}
fact now "$(date +%s)"
fact kernel "$(uname -r)"
if [ -d /sys/module/wireguard ] || modinfo wireguard >/dev/null 2>&1; then fact wireguard-kernel yes; else fact wireguard-kernel no; fi
if [ -x "$root/opt/k3s-multicloud/bin/k3smc" ]; then
    fact toolkit "$("$root/opt/k3s-multicloud/bin/k3smc" status 2>/dev/null | sed -n 's/^toolkit: *\([^ ]*\).*/\1/p')"
else
    fact toolkit none
fi
if command -v cloud-init >/dev/null 2>&1; then fact cloud-init "$(cloud-init status 2>/dev/null | sed -n 's/^status: //p')"; else fact cloud-init absent; fi
for service in k3s k3s-agent; do
    if [ -f "$root/etc/systemd/system/$service.service" ]; then
        fact service "$service $(systemctl is-active "$service" 2>/dev/null || true)"
    fi
done
fact k3s-version "$("$root/usr/local/bin/k3s" --version 2>/dev/null | sed -n '1s/^k3s version \([^ ]*\).*/\1/p')"
config="$root/etc/rancher/k3s/config.yaml"
fact node-external-ip "$(sed -n 's/^node-external-ip: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$config" 2>/dev/null | head -n 1)"
fact addresses "$(ip -o -4 addr show 2>/dev/null | awk '{ split($4, a, "/"); printf "%s%s", sep, a[1]; sep = "," }')"
if dump=$(wg show flannel-wg dump 2>/dev/null); then
    fact flannel-wg up
    printf '%s\n' "$dump" | awk -F'\t' 'NR > 1 { print "peer\t" $3 "\t" $4 "\t" $5 }'
else
    fact flannel-wg absent
fi
if command -v nft >/dev/null 2>&1 && nft list table inet k3s_multicloud >/dev/null 2>&1; then fact nft-table loaded; else fact nft-table missing; fi
if command -v ufw >/dev/null 2>&1; then fact ufw "$(ufw status 2>/dev/null | sed -n 's/^Status: //p')"; else fact ufw absent; fi
# Free space where k3s keeps its data (the nearest directory that exists: an agent may have no /var/lib/rancher yet).
data="$root/var/lib/rancher"
while [ ! -e "$data" ] && [ "$data" != / ]; do data=$(dirname "$data"); done
fact disk-free-mb "$(df -Pm "$data" 2>/dev/null | awk 'NR == 2 { print $4 }')"
for cert in server/tls/serving-kube-apiserver.crt agent/client-kubelet.crt agent/serving-kubelet.crt; do
    file="$root/var/lib/rancher/k3s/$cert"
    if [ -f "$file" ] && command -v openssl >/dev/null 2>&1; then
        fact cert "$cert $(date -d "$(openssl x509 -noout -enddate -in "$file" | sed 's/^notAfter=//')" +%s)"
    fi
done
# TCP reachability of the other members' k3s ports from here (2 s each, all at once).
for member in $(printf '%s' "${1:-}" | tr ',' ' '); do
    for port in 6443 10250; do
        # shellcheck disable=SC2016 # $0 and $1 belong to the inner bash
        (if timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "${member#*=}" "$port" 2>/dev/null; then r=open; else r=closed; fi
            fact reach "${member%%=*} $port $r") &
    done
done
wait
# Servers: what the API says about every node (Ready, and the addresses flannel uses).
if [ -f "$root/etc/rancher/k3s/k3s.yaml" ]; then
    "$root/usr/local/bin/k3s" kubectl --kubeconfig "$root/etc/rancher/k3s/k3s.yaml" get nodes -o \
        'jsonpath={range .items[*]}{"node\t"}{.metadata.name}{"\t"}{.status.conditions[?(@.type=="Ready")].status}{"\t"}{.metadata.annotations.flannel\.alpha\.coreos\.com/public-ip}{"\t"}{.metadata.annotations.flannel\.alpha\.coreos\.com/public-ip-overwrite}{"\n"}{end}' 2>/dev/null || fact api unreachable
fi
