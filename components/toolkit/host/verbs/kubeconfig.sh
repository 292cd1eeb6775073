# Prints the server's admin kubeconfig with a client certificate minted now that lasts as long as the cluster's
# client CA (k3s makes it for 10 years). The kubeconfig ends up in Pulumi state and in every stack composed on it,
# where nothing renews it, while k3s' own admin certificate in k3s.yaml lasts a year and k3s renews it only on the
# host. Without openssl or the CA it prints k3s.yaml as it is, with a warning. The step keeps stdout secret and
# logging off.
#
# With --credential-generation N the certificate is for the user k3s-multicloud-admin-N, in no group, and the
# ClusterRoleBinding k3s-multicloud-admin (made here with k3s' own admin credential, k3s.yaml) grants cluster-admin
# to that user alone: raising N revokes every earlier credential at once, which no certificate in system:masters
# allows short of a new CA (the API server never checks system:masters against RBAC). Without the flag (steps
# stored by 0.3.0 and before) the certificate is k3s' admin identity (CN system:admin, O system:masters).
#
# Flags: --node-name, --credential-generation.

require_root
kubeconfig="$K3S_CONFIG_DIR/k3s.yaml"
[ -s "$kubeconfig" ] || die "$kubeconfig is missing or empty: k3s has not written its admin kubeconfig (is the server up? 'journalctl -u k3s')."
# The program points the kubeconfig at the server's public address by replacing this line; the verdict is made here,
# so a kubeconfig it could not rewrite fails this step (and is read again next time) instead of being stored.
grep -q '^ *server: https://127\.0\.0\.1:6443$' "$kubeconfig" ||
    die "$kubeconfig does not point at https://127.0.0.1:6443 (a changed https-listen-port or bind-address?); the kubeconfig cannot be rewritten to this server's public address."
tls="$(k3s_data_dir)/server/tls"
if ! command -v openssl >/dev/null 2>&1 || [ ! -s "$tls/client-ca.crt" ] || [ ! -s "$tls/client-ca.key" ]; then
    printf "k3s-multicloud [%s] WARNING: no openssl or no client CA in %s: the kubeconfig keeps k3s' own client certificate, which expires a year after it was issued.\n" "$K3SMC_NODE_NAME" "$tls" >&2
    cat "$kubeconfig"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0700 "$work"
# Until a day before the CA ends (openssl counts whole days from now).
ca_end=$(date -d "$(openssl x509 -noout -enddate -in "$tls/client-ca.crt" | sed 's/^notAfter=//')" +%s)
days=$(((ca_end - $(date +%s)) / 86400 - 1))
[ "$days" -ge 30 ] || die "the cluster's client CA ($tls/client-ca.crt) ends in less than 31 days: rotate the k3s CA certificates ('k3s certificate rotate-ca', docs.k3s.io/cli/certificate) first"
subject="/O=system:masters/CN=system:admin"
if [ -n "${K3SMC_CREDENTIAL_GENERATION:-}" ]; then
    identity="k3s-multicloud-admin-$K3SMC_CREDENTIAL_GENERATION"
    subject="/CN=$identity"
    # Bound before the credential exists: a kubeconfig is never printed for an identity that cannot act.
    printf '%s\n' "apiVersion: rbac.authorization.k8s.io/v1" "kind: ClusterRoleBinding" "metadata:" "  name: k3s-multicloud-admin" \
        "  labels:" "    app.kubernetes.io/managed-by: k3s-multicloud" "roleRef:" "  apiGroup: rbac.authorization.k8s.io" "  kind: ClusterRole" \
        "  name: cluster-admin" "subjects:" "  - apiGroup: rbac.authorization.k8s.io" "    kind: User" "    name: $identity" >"$work/binding.yaml"
    if ! error=$("$K3S_BIN" kubectl --kubeconfig "$kubeconfig" apply -f "$work/binding.yaml" 2>&1); then
        die "could not bind $identity to cluster-admin with k3s' admin credential ($kubeconfig): $error"
    fi
    printf "k3s-multicloud [%s] kubeconfig: cluster-admin is bound to %s alone; earlier credentials of this project are revoked\n" "$K3SMC_NODE_NAME" "$identity" >&2
fi
openssl ecparam -name prime256v1 -genkey -noout -out "$work/key.pem" 2>/dev/null
openssl req -new -key "$work/key.pem" -subj "$subject" -out "$work/req.pem" 2>/dev/null
printf 'keyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = clientAuth\n' >"$work/ext"
openssl x509 -req -in "$work/req.pem" -CA "$tls/client-ca.crt" -CAkey "$tls/client-ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days "$days" -extfile "$work/ext" -out "$work/cert.pem" 2>/dev/null ||
    die "could not sign a client certificate with the cluster's client CA in $tls"
# The key goes from its file to stdout through redirections and bash built-ins only: an argument of any program
# (sed, printf as a binary) is readable by every local user in /proc/<pid>/cmdline and kept by execve audit logs.
cert=$(base64 -w0 <"$work/cert.pem")
key=$(base64 -w0 <"$work/key.pem")
# k3s.yaml has one user; its two data lines are replaced, everything else is printed as k3s wrote it.
while IFS= read -r line || [ -n "$line" ]; do
    if [[ $line =~ ^(\ *client-certificate-data:) ]]; then
        printf '%s %s\n' "${BASH_REMATCH[1]}" "$cert"
    elif [[ $line =~ ^(\ *client-key-data:) ]]; then
        printf '%s %s\n' "${BASH_REMATCH[1]}" "$key"
    else
        printf '%s\n' "$line"
    fi
done <"$kubeconfig"
printf 'k3s-multicloud [%s] kubeconfig: a new admin client certificate, valid until %s\n' "$K3SMC_NODE_NAME" "$(openssl x509 -noout -enddate -in "$work/cert.pem" | sed 's/^notAfter=//')" >&2
