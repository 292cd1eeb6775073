#!/usr/bin/env bash
# What a k3s server's start leaves on disk that our steps read (the systemctl stand-in runs this when the k3s unit
# starts): at its first start k3s makes its CAs (pkg/daemons/control/deps: server-ca, client-ca, self-signed) and
# writes its token in secure format to <data-dir>/server/token - K10<CA hash>::server:<password> - with the CA hash of
# pkg/clientaccess/token.go (hashCA: for one self-signed certificate, the sha256 of the file), and the agent token
# beside it the same way (::node:). A test may plant its own CA (a bundle, say) first.
set -euo pipefail
config="$K3SMC_ROOT/etc/rancher/k3s/config.yaml"
data=$(sed -n 's/^data-dir: *//p' "$config" 2>/dev/null | head -n 1)
server="$K3SMC_ROOT${data:-/var/lib/rancher/k3s}/server"
mkdir -p "$server/tls"
for ca in server-ca client-ca; do
    if [ ! -s "$server/tls/$ca.crt" ]; then
        openssl ecparam -name prime256v1 -genkey -noout -out "$server/tls/$ca.key" 2>/dev/null
        openssl req -x509 -new -key "$server/tls/$ca.key" -subj "/CN=k3s-$ca@test" -days 3650 -out "$server/tls/$ca.crt" 2>/dev/null
    fi
done
hash=$(sha256sum <"$server/tls/server-ca.crt" | awk '{ print $1 }')
password=$(head -n 1 "$K3SMC_ROOT/etc/rancher/k3s/cluster-token" 2>/dev/null || true)
[ -s "$server/token" ] || printf 'K10%s::server:%s\n' "$hash" "${password#K10*::server:}" >"$server/token"
if [ -s "$K3SMC_ROOT/etc/rancher/k3s/agent-token" ]; then
    printf 'K10%s::node:%s\n' "$hash" "$(head -n 1 "$K3SMC_ROOT/etc/rancher/k3s/agent-token")" >"$server/agent-token"
fi
