#!/usr/bin/env bash
# Stand-in for the k3s binary: reports the installed version and answers the Ready query and the flannel public-ip
# annotation query from files the test controls (default: Ready, no annotation). In the namespace lab its kubectl is
# the real one, against the real API server the lab runs.
set -euo pipefail
here=$(dirname "$0")
case "${1:-}" in
    --version) echo "k3s version $(cat "$here/k3s.version") (stand-in)" ;;
    kubectl)
        echo "k3s $*" >>"$K3SMC_ROOT/calls.log"
        # In the namespace lab a real API server runs on the first server (lab/standins/k3s-node.sh): k3s' kubectl is
        # kubectl, with k3s.yaml unless told otherwise.
        if [ -n "${LAB_K8S_TOOLS:-}" ]; then
            shift
            KUBECONFIG=${KUBECONFIG:-$K3SMC_ROOT/etc/rancher/k3s/k3s.yaml} exec "$LAB_K8S_TOOLS/kubectl" "$@"
        fi
        case "$*" in
            *'{"node\t"}'*)
                # doctor's question (every node's Ready and flannel addresses), from a file the test wrote.
                if [ -f "$K3SMC_ROOT/api-nodes" ]; then cat "$K3SMC_ROOT/api-nodes"; fi
                ;;
            *range*) if [ -f "$K3SMC_ROOT/nodes-ready" ]; then cat "$K3SMC_ROOT/nodes-ready"; fi ;;
            *public-ip*) if [ -f "$K3SMC_ROOT/flannel-public-ip" ]; then cat "$K3SMC_ROOT/flannel-public-ip"; fi ;;
            *) if [ -f "$K3SMC_ROOT/ready-status" ]; then cat "$K3SMC_ROOT/ready-status"; else printf 'True'; fi ;;
        esac
        ;;
    *) echo "fake k3s: unexpected arguments $*" >&2; exit 2 ;;
esac
