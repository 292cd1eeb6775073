#!/usr/bin/env bash
# Builds the real programs the engine lab runs - the Pulumi CLI, its YAML language host, the Kubernetes provider, a
# Kubernetes API server (kube-apiserver, kubectl, and kine, the datastore k3s puts in front of SQLite) and the command
# provider stand-in - from Go modules, with the ordinary `go` command, into a cache outside the repository.
#
#   engine/build.sh            probe, build what is missing, install the providers; prints the engine directory
#   engine/build.sh --locate   prints the engine directory if everything is built, else says what is missing (exit 1)
#
# Each program has a tools module of ours here (go.mod and go.sum committed) that pins it; its cache entry is keyed by
# the module files, the build flags and the Go version, so a second run builds nothing. Nothing is fetched but Go
# modules through the Go module proxy (`go` itself); files the build needs besides code (the Kubernetes provider's
# schema) are read from the Go module cache. Offline afterwards: the lab runs with PULUMI_SKIP_UPDATE_CHECK,
# PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION, PULUMI_DISABLE_REGISTRY_RESOLVE and a file:// backend.
set -Eeuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${K3SMC_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/k3s-multicloud/engine}
mode=${1:-build}
if [ "$mode" = --help ] || [ "$mode" = -h ]; then
    printf '%s\n' "usage: engine/build.sh [--locate]" \
        "  builds the Pulumi CLI, the YAML host, the command and Kubernetes providers, kube-apiserver, kubectl and kine" \
        "  from Go modules into $cache (once; cached after); --locate prints that directory, or what is missing"
    exit 0
fi

# What each program is built from: name | tools module | package | extra `go build` arguments | cgo.
# Versions the npm packages ask for: @pulumi/pulumi 3.248 (the CLI), @pulumi/command 1.2.1, @pulumi/kubernetes 4.34.2.
PROGRAMS=(
    "pulumi|cli|github.com/pulumi/pulumi/pkg/v3/cmd/pulumi|-tags osusergo,grpcnotrace -ldflags=-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.248.0|0"
    "pulumi-language-yaml|language-yaml|github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml|-ldflags=-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=v1.38.0|0"
    "pulumi-resource-command|command-provider|.|-ldflags=-s -w -X main.Version=1.2.1|0"
    "pulumi-resource-kubernetes|kubernetes-provider|.|-ldflags=-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=4.25.0|0"
    "kube-apiserver|kubernetes-api|k8s.io/kubernetes/cmd/kube-apiserver|-ldflags=-s -w -X k8s.io/component-base/version.gitVersion=v1.33.13 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=33 -X k8s.io/client-go/pkg/version.gitVersion=v1.33.13|0"
    "kubectl|kubernetes-api|k8s.io/kubernetes/cmd/kubectl|-ldflags=-s -w -X k8s.io/component-base/version.gitVersion=v1.33.13 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=33 -X k8s.io/client-go/pkg/version.gitVersion=v1.33.13|0"
    "kine|kine|github.com/k3s-io/kine|-ldflags=-s -w|1"
)
# Plugins installed into the engine's PULUMI_HOME under the versions the npm SDKs request.
PLUGINS=("resource command 1.2.1 pulumi-resource-command" "resource kubernetes 4.34.2 pulumi-resource-kubernetes")
# Modules the engine would use but the Go module proxy here does not serve, with what the lab does instead.
UNSERVED=(
    "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@v3.0.0-20260624180030-dc7edd58bc13|the program is served to the CLI by the SDK's own language runtime, as the Automation API runs inline programs (lab/engine/pulumiWithProgram.ts)"
    "github.com/pulumi/pulumi-command/provider@v0.0.0-20260303235922-7f3eb6f3b77c|the command provider stand-in in engine/command-provider, on the same pulumi-go-provider and x/crypto/ssh versions"
    "github.com/pulumi/pulumi-random/provider/v4@latest|the lab's stacks give the cluster its tokens (token, agentToken)"
)

# The engine directory's layout (bin/, providers/, tools/, pulumi-home/): part of its key.
ENGINE_LAYOUT=2

say() { printf 'engine: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 3
}

go_version() { go env GOVERSION; }

# A program's cache key: its tools module's files, the build arguments and the Go version.
key_of() {
    local name=$1 dir=$2 package=$3 args=$4 cgo=$5
    {
        printf '%s\n' "$name" "$package" "$args" "cgo=$cgo" "$(go_version)"
        (cd "$here/$dir" && find . -type f ! -name '*.json' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    } | sha256sum | cut -c1-16
}

binary_of() {
    local name=$1 dir=$2 package=$3 args=$4 cgo=$5
    printf '%s/programs/%s-%s/%s' "$cache" "$name" "$(key_of "$@")" "$name"
}

# The engine directory: bin/ (every program), pulumi-home/ (the plugins), keyed by all programs together.
engine_dir() {
    local all=""
    for entry in "${PROGRAMS[@]}"; do
        IFS='|' read -r name dir package args cgo <<<"$entry"
        all+="$(binary_of "$name" "$dir" "$package" "$args" "$cgo")"$'\n'
    done
    printf '%s/engine-%s' "$cache" "$(printf '%s%s%s' "$all" "${PLUGINS[*]}" "$ENGINE_LAYOUT" | sha256sum | cut -c1-16)"
}

command -v go >/dev/null || die "the go command is not installed (Go 1.26 or newer; the engine is built from Go modules)"

if [ "$mode" = "--locate" ]; then
    dir=$(engine_dir)
    if [ -f "$dir/complete" ]; then
        printf '%s\n' "$dir"
        exit 0
    fi
    say "not built for this checkout (no $dir/complete): run engine/build.sh (npm run engine:build)"
    exit 1
fi
[ "$mode" = build ] || die "usage: engine/build.sh [--locate]"

dir=$(engine_dir)
if [ -f "$dir/complete" ]; then
    say "already built: nothing to do"
    printf '%s\n' "$dir"
    exit 0
fi

# The probe: disk first (the Go module and build caches take 2-4 GB), then every pinned module's graph, naming any
# module the proxy does not serve before anything is built.
mkdir -p "$cache"
for where in "$cache" "$(go env GOMODCACHE)" "$(go env GOCACHE)"; do
    mkdir -p "$where"
    free_kb=$(df -Pk "$where" | awk 'NR == 2 { print $4 }')
    [ "$free_kb" -ge $((4 * 1024 * 1024)) ] || die "only $((free_kb / 1024)) MiB free on the filesystem of $where; the engine build needs about 4 GiB (Go modules and build cache)"
done
for entry in "${UNSERVED[@]}"; do
    IFS='|' read -r module instead <<<"$entry"
    if answer=$(cd "$cache" && GOFLAGS=-mod=mod go list -m "$module" 2>&1); then
        say "note: $module is served now ($answer); the lab still uses its replacement: $instead"
    else
        say "not served: $module ($(printf '%s' "$answer" | grep -o '[0-9]\{3\} [A-Za-z ]*' | head -n 1 || printf 'refused')); instead $instead"
    fi
done
for entry in "${PROGRAMS[@]}"; do
    IFS='|' read -r name module_dir package args cgo <<<"$entry"
    # Loading the program's packages fetches exactly the module sources its build needs (a module can be listed by
    # the proxy and still refused as source: pulumi/pkg v3.247.0's .mod is served, its .zip is not).
    probe=$package
    # Its main embeds files the build copies in later; the provider package it serves stands for it here.
    [ "$module_dir" != kubernetes-provider ] || probe=github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider
    if ! listed=$(cd "$here/$module_dir" && CGO_ENABLED=$cgo go list -deps "$probe" 2>&1 >/dev/null); then
        printf '%s\n' "$listed" | grep -E '403|404|not available|invalid version|missing' | sed 's/^/    /' >&2 || printf '%s\n' "$listed" >&2
        die "$name: the Go module proxy does not serve what engine/$module_dir pins (above); nothing was built"
    fi
done
say "probe: every pinned module is served"

export CGO_ENABLED=0
for entry in "${PROGRAMS[@]}"; do
    IFS='|' read -r name module_dir package args cgo <<<"$entry"
    out=$(binary_of "$name" "$module_dir" "$package" "$args" "$cgo")
    if [ -x "$out" ]; then
        say "$name: cached"
        continue
    fi
    started=$SECONDS
    work="$cache/build-$name.$$"
    rm -rf "$work" && mkdir -p "$work" "$(dirname "$out")"
    cp -a "$here/$module_dir/." "$work/"
    if [ "$module_dir" = kubernetes-provider ]; then
        # The released main's embedded files, from the provider module itself.
        source_dir=$(cd "$work" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)
        cp "$source_dir/cmd/pulumi-resource-kubernetes/schema.json" "$source_dir/cmd/pulumi-resource-kubernetes/terraform-mapping.json" "$work/"
        chmod u+w "$work"/*.json
    fi
    say "$name: building (go build $package)"
    read -ra build_args <<<"${args%%-ldflags=*}"
    ldflags=${args#*-ldflags=}
    (cd "$work" && CGO_ENABLED=$cgo go build "${build_args[@]}" -ldflags "$ldflags" -o "$out.partial" "$package") || die "$name: go build failed (above)"
    mv "$out.partial" "$out"
    rm -rf "$work"
    say "$name: built in $((SECONDS - started)) s"
done

# bin/: the CLI and the language host it finds beside itself (what goes on PATH); providers/: the provider binaries,
# installed as plugins into pulumi-home/ (never on PATH: the CLI would prefer them there, with a warning, over the
# installed versions); tools/: the Kubernetes API server, kubectl and kine for the lab.
rm -rf "$dir" && mkdir -p "$dir/bin" "$dir/providers" "$dir/tools" "$dir/pulumi-home"
for entry in "${PROGRAMS[@]}"; do
    IFS='|' read -r name module_dir package args cgo <<<"$entry"
    case "$name" in
        pulumi | pulumi-language-*) place=bin ;;
        pulumi-resource-*) place=providers ;;
        *) place=tools ;;
    esac
    ln -s "$(binary_of "$name" "$module_dir" "$package" "$args" "$cgo")" "$dir/$place/$name"
done
for plugin in "${PLUGINS[@]}"; do
    read -r kind plugin_name version binary <<<"$plugin"
    PULUMI_HOME="$dir/pulumi-home" PULUMI_SKIP_UPDATE_CHECK=true "$dir/bin/pulumi" plugin install "$kind" "$plugin_name" "$version" --file "$dir/providers/$binary" >/dev/null
    say "installed $kind plugin $plugin_name $version ($binary)"
done
touch "$dir/complete"
printf '%s\n' "$dir"
