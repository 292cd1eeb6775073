#!/usr/bin/env bash
# Stand-in for the k3s binary: reports the installed version and answers the Ready query and the flannel public-ip
# annotation query from files the test controls (default: Ready, no annotation). In the namespace lab
# (LAB_API set) deleting a node deletes its flannel lease there, so the other nodes withdraw its peer.
set -euo pipefail
here=$(dirname "$0")
case "${1:-}" in
    --version) echo "k3s version $(cat "$here/k3s.version") (stand-in)" ;;
    kubectl)
        echo "k3s $*" >>"$K3SMC_ROOT/calls.log"
        case "$*" in
            *'{"node\t"}'*)
                # doctor's question (every node's Ready and flannel addresses). In the lab: from its API directory
                # (leases hold what flannel advertises, its flannel.alpha.coreos.com/public-ip annotation - flannel
                # pkg/subnet/kube writes it; annotations what k3s set); elsewhere from a file the test wrote.
                if [ -n "${LAB_API:-}" ]; then
                    for lease in "$LAB_API"/leases/*; do
                        [ -f "$lease" ] || continue
                        node=${lease##*/}
                        printf 'node\t%s\t%s\t%s\t%s\n' "$node" "$(cat "$LAB_API/ready/$node" 2>/dev/null || printf Unknown)" \
                            "$(awk '{ print $1 }' "$lease")" "$(tr -d '\n' <"$LAB_API/annotations/$node/public-ip-overwrite" 2>/dev/null)"
                    done
                elif [ -f "$K3SMC_ROOT/api-nodes" ]; then
                    cat "$K3SMC_ROOT/api-nodes"
                fi
                ;;
            *range*) if [ -f "$K3SMC_ROOT/nodes-ready" ]; then cat "$K3SMC_ROOT/nodes-ready"; fi ;;
            *" delete node "*)
                if [ -n "${LAB_API:-}" ]; then rm -f "$LAB_API/leases/${*: -1}"; fi
                ;;
            *public-ip*) if [ -f "$K3SMC_ROOT/flannel-public-ip" ]; then cat "$K3SMC_ROOT/flannel-public-ip"; fi ;;
            *) if [ -f "$K3SMC_ROOT/ready-status" ]; then cat "$K3SMC_ROOT/ready-status"; else printf 'True'; fi ;;
        esac
        ;;
    *) echo "fake k3s: unexpected arguments $*" >&2; exit 2 ;;
esac
