// The Kubernetes provider for the engine lab: pulumi-kubernetes' own provider (package pkg/provider of
// github.com/pulumi/pulumi-kubernetes/provider/v4), served by this main.
//
// Why a main of ours: the released main embeds schema.json and terraform-mapping.json, which its module holds only as
// source files beside it; engine/build.sh copies the two from the module (in the Go module cache) next to this file in
// a scratch copy before it builds. The module is served at one version only, the commit of tag v4.25.0
// (f47bc2d6f199); the build stamps that version, and installs the binary under the version the npm SDK asks for.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var pulumiSchema []byte

//go:embed terraform-mapping.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
