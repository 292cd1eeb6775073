// A stand-in for the Pulumi command provider (pulumi-command v1.2.1), for the engine lab only.
//
// Why it exists: the provider's Go module, github.com/pulumi/pulumi-command/provider, is not served by the Go module
// proxy this project can reach (every version answers 403), so the real provider cannot be built here. This program
// is written here, from what the real one does at tag v1.2.1 (the files named in each package), on the same libraries
// it uses at that tag: pulumi-go-provider v1.3.0 (`infer`: the schema, input defaults, secrets, and the diff that
// decides update versus replace) and golang.org/x/crypto/ssh v0.48.0 (the SSH client: host-key parsing and checking,
// authentication, its error texts). What it imitates rather than runs: the glue between them - dial retries,
// sessions, output capture, logging - written to behave as the upstream files describe.
//
// Only what this project registers is implemented: command:remote:Command and command:local:Command (no
// CopyToRemote, CopyFile, local.run, proxies or asset outputs; each refuses in words).
package main

import (
	"context"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"k3s-multicloud/engine/command-provider/local"
	"k3s-multicloud/engine/command-provider/remote"
)

// Version is what the provider reports; the build sets it to the version the npm SDK asks for (1.2.1).
var Version = "1.2.1"

func main() {
	provider := infer.Provider(infer.Options{
		Resources: []infer.InferredResource{
			infer.Resource(&local.Command{}),
			infer.Resource(&remote.Command{}),
		},
	})
	if err := p.RunProvider(context.Background(), "command", Version, provider); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %s", err.Error())
		os.Exit(1)
	}
}
