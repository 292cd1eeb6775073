// Package local is the stand-in's command:local:Command, after pulumi-command v1.2.1
// provider/pkg/provider/local/{command.go,base.go,commandController.go,commandOutputs.go}.
package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"k3s-multicloud/engine/command-provider/output"
)

// Command runs a command on the machine running `pulumi` on create, update and delete.
type Command struct{}

// CommandInputs: `triggers` replace the resource when they change; any other changed input is an update.
type CommandInputs struct {
	Triggers               *[]any             `pulumi:"triggers,optional" provider:"replaceOnChanges"`
	Create                 *string            `pulumi:"create,optional"`
	Update                 *string            `pulumi:"update,optional"`
	Delete                 *string            `pulumi:"delete,optional"`
	Stdin                  *string            `pulumi:"stdin,optional"`
	Logging                *output.Logging    `pulumi:"logging,optional"`
	Interpreter            *[]string          `pulumi:"interpreter,optional"`
	Dir                    *string            `pulumi:"dir,optional"`
	Environment            *map[string]string `pulumi:"environment,optional"`
	AssetPaths             *[]string          `pulumi:"assetPaths,optional"`
	ArchivePaths           *[]string          `pulumi:"archivePaths,optional"`
	AddPreviousOutputInEnv *bool              `pulumi:"addPreviousOutputInEnv,optional"`
}

// CommandOutputs: the inputs and what the last successful run printed.
type CommandOutputs struct {
	CommandInputs
	Stdout string `pulumi:"stdout"`
	Stderr string `pulumi:"stderr"`
}

func (*Command) Create(ctx context.Context, req infer.CreateRequest[CommandInputs]) (infer.CreateResponse[CommandOutputs], error) {
	state := CommandOutputs{CommandInputs: req.Inputs}
	id, err := resource.NewUniqueHex(req.Name, 8, 0)
	if err != nil || req.DryRun || req.Inputs.Create == nil {
		return infer.CreateResponse[CommandOutputs]{ID: id, Output: state}, err
	}
	err = state.run(ctx, *req.Inputs.Create)
	return infer.CreateResponse[CommandOutputs]{ID: id, Output: state}, err
}

func (*Command) Update(ctx context.Context, req infer.UpdateRequest[CommandInputs, CommandOutputs]) (infer.UpdateResponse[CommandOutputs], error) {
	state := CommandOutputs{CommandInputs: req.Inputs, Stdout: req.State.Stdout, Stderr: req.State.Stderr}
	if req.DryRun {
		return infer.UpdateResponse[CommandOutputs]{Output: state}, nil
	}
	command := req.Inputs.Create
	if req.Inputs.Update != nil {
		command = req.Inputs.Update
	}
	if command == nil {
		return infer.UpdateResponse[CommandOutputs]{Output: state}, nil
	}
	err := state.run(ctx, *command)
	return infer.UpdateResponse[CommandOutputs]{Output: state}, err
}

func (*Command) Delete(ctx context.Context, req infer.DeleteRequest[CommandOutputs]) (infer.DeleteResponse, error) {
	if req.State.Delete == nil {
		return infer.DeleteResponse{}, nil
	}
	state := req.State
	return infer.DeleteResponse{}, state.run(ctx, *req.State.Delete)
}

// run: `/bin/sh -c <command>` (or the interpreter) in `dir` (default: the provider's working directory, the
// project's), with the provider's own environment plus `environment`, and the previous outputs as
// PULUMI_COMMAND_STDOUT/STDERR unless addPreviousOutputInEnv is false.
func (c *CommandOutputs) run(ctx context.Context, command string) error {
	if c.AssetPaths != nil || c.ArchivePaths != nil {
		return fmt.Errorf("assetPaths and archivePaths are not supported by the engine lab's command provider stand-in")
	}
	argv := []string{"/bin/sh", "-c"}
	if c.Interpreter != nil && len(*c.Interpreter) > 0 {
		argv = append([]string{}, *c.Interpreter...)
	}
	argv = append(argv, command)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...) //nolint:gosec // running the user's command is the point
	if c.Dir != nil {
		cmd.Dir = *c.Dir
	} else {
		dir, err := os.Getwd()
		if err != nil {
			return err
		}
		cmd.Dir = dir
	}
	cmd.Env = os.Environ()
	if c.Environment != nil {
		for key, value := range *c.Environment {
			cmd.Env = append(cmd.Env, key+"="+value)
		}
	}
	if c.AddPreviousOutputInEnv == nil || *c.AddPreviousOutputInEnv {
		if c.Stdout != "" {
			cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDOUT="+c.Stdout)
		}
		if c.Stderr != "" {
			cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDERR="+c.Stderr)
		}
	}
	if c.Stdin != nil && len(*c.Stdin) > 0 {
		cmd.Stdin = strings.NewReader(*c.Stdin)
	}
	capture, stdout, stderr := output.Start(ctx, c.Logging)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	stdoutText, stderrText, err := capture.Finish(cmd.Run(), command)
	if err != nil {
		return err
	}
	c.Stdout, c.Stderr = stdoutText, stderrText
	return nil
}
