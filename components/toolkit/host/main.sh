# The toolkit's entry point: `k3smc v1 <verb> --flag value ...` runs one verb with the flags of contract v1, and
# `k3smc status` prints what this host runs. A step stored by an older release calls the contract it was written
# for; a newer toolkit keeps every contract it ever spoke, so deletes stored long ago still run.
#
# k3smc_flags and k3smc_whole_numbers come from the contract table in components/toolkit/contract.ts.

# The verbs read K3SMC_* variables; only the flags set them, whatever the caller's environment holds. Kept: the
# test hooks K3SMC_ROOT (a temporary root) and K3SMC_POLL_INTERVAL, and K3SMC_INSTALLER_TIMEOUT (seconds).
for variable in $(compgen -v K3SMC_); do
    case "$variable" in
        K3SMC_ROOT | K3SMC_POLL_INTERVAL | K3SMC_INSTALLER_TIMEOUT | K3SMC_TOOLKIT_ID | K3SMC_CONTRACTS) ;;
        *) unset "$variable" ;;
    esac
done
K3SMC_ROOT="${K3SMC_ROOT:-}"
K3SMC_POLL_INTERVAL="${K3SMC_POLL_INTERVAL:-5}"
K3SMC_NODE_NAME="${HOSTNAME:-node}"
K3S_BIN="$K3SMC_ROOT/usr/local/bin/k3s"
K3S_CONFIG_DIR="$K3SMC_ROOT/etc/rancher/k3s"

usage() {
    printf 'k3s-multicloud host toolkit %s (contracts: %s)\n' "$K3SMC_TOOLKIT_ID" "$K3SMC_CONTRACTS"
    printf 'usage: k3smc v1 <verb> [--flag value ...] | k3smc status | k3smc flags <verb>\n'
    printf 'verbs: %s\n' "$(k3smc_flags)"
}

# parse_flags VERB ARGS...: sets K3SMC_<FLAG> for each --flag value the verb accepts.
parse_flags() {
    local verb=$1 name value variable
    shift
    local accepted
    accepted=" $(k3smc_flags "$verb") step-revision "
    while [ "$#" -gt 0 ]; do
        name=${1#--}
        [ "$name" != "$1" ] || die "expected a --flag, got '$1' (k3smc $verb)"
        [ "$#" -ge 2 ] || die "--$name needs a value (k3smc $verb)"
        value=$2
        shift 2
        case "$accepted" in
            *" $name "*) ;;
            *) die "k3smc $verb takes no --$name; it takes: $(k3smc_flags "$verb" | sed 's/[^ ][^ ]*/--&/g')" ;;
        esac
        # Numbers reach shell arithmetic: anything but digits is refused before it can be evaluated.
        case " $(k3smc_whole_numbers "$verb") " in
            *" $name "*) [[ "$value" =~ ^[0-9]{1,9}$ ]] || die "--$name must be a whole number, not '$value'" ;;
        esac
        variable=K3SMC_$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')
        printf -v "$variable" '%s' "$value"
    done
}

contract=${1:-}
case "$contract" in
    v1)
        verb=${2:-}
        shift 2 || shift $#
        if [ -z "$verb" ] || [ -z "$(k3smc_flags "$verb")" ]; then
            usage >&2
            die "unknown verb '${verb}'"
        fi
        parse_flags "$verb" "$@"
        "k3smc_verb_${verb//-/_}"
        ;;
    status) k3smc_verb_status ;;
    flags) k3smc_flags "${2:-}" ;;
    help | --help | -h | "") usage ;;
    v[0-9]*) die "this toolkit ($K3SMC_TOOLKIT_ID) speaks contracts $K3SMC_CONTRACTS, not $contract: the step was written by a newer k3s-multicloud release. Run 'pulumi up' with that release, which delivers its toolkit first." ;;
    *)
        usage >&2
        die "unknown command '$contract'"
        ;;
esac
