// Package remote is the stand-in's command:remote:Command, after pulumi-command v1.2.1
// provider/pkg/provider/remote/{command.go,commandController.go,commandOutputs.go}.
package remote

import (
	"context"
	"fmt"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"k3s-multicloud/engine/command-provider/output"
)

// Command runs a command over SSH on create, update and delete.
type Command struct{}

// CommandInputs: `triggers` replace the resource when they change; any other changed input is an update (infer's
// diff). `connection` is secret as a whole.
type CommandInputs struct {
	Triggers               *[]any            `pulumi:"triggers,optional" provider:"replaceOnChanges"`
	Create                 *string           `pulumi:"create,optional"`
	Update                 *string           `pulumi:"update,optional"`
	Delete                 *string           `pulumi:"delete,optional"`
	Stdin                  *string           `pulumi:"stdin,optional"`
	Logging                *output.Logging   `pulumi:"logging,optional"`
	Connection             *Connection       `pulumi:"connection" provider:"secret"`
	Environment            map[string]string `pulumi:"environment,optional"`
	AddPreviousOutputInEnv *bool             `pulumi:"addPreviousOutputInEnv,optional"`
}

// CommandOutputs: the inputs and what the last successful run printed.
type CommandOutputs struct {
	CommandInputs
	Stdout string `pulumi:"stdout"`
	Stderr string `pulumi:"stderr"`
}

// Create runs `create` (nothing in a preview, nothing without a command); the id is the name and 8 random hex digits.
func (*Command) Create(ctx context.Context, req infer.CreateRequest[CommandInputs]) (infer.CreateResponse[CommandOutputs], error) {
	state := CommandOutputs{CommandInputs: req.Inputs}
	id, err := resource.NewUniqueHex(req.Name, 8, 0)
	if err != nil || req.DryRun || req.Inputs.Create == nil {
		return infer.CreateResponse[CommandOutputs]{ID: id, Output: state}, err
	}
	err = state.run(ctx, *req.Inputs.Create)
	return infer.CreateResponse[CommandOutputs]{ID: id, Output: state}, err
}

// Update runs `update`, else `create`, with the new inputs; the previous outputs stay until a run succeeds.
func (*Command) Update(ctx context.Context, req infer.UpdateRequest[CommandInputs, CommandOutputs]) (infer.UpdateResponse[CommandOutputs], error) {
	state := CommandOutputs{CommandInputs: req.Inputs, Stdout: req.State.Stdout, Stderr: req.State.Stderr}
	if req.DryRun {
		return infer.UpdateResponse[CommandOutputs]{Output: state}, nil
	}
	var err error
	if req.Inputs.Update != nil {
		err = state.run(ctx, *req.Inputs.Update)
	} else if req.Inputs.Create != nil {
		err = state.run(ctx, *req.Inputs.Create)
	}
	return infer.UpdateResponse[CommandOutputs]{Output: state}, err
}

// Delete runs `delete` from the stored state: the inputs of the last create or update, however old.
func (*Command) Delete(ctx context.Context, req infer.DeleteRequest[CommandOutputs]) (infer.DeleteResponse, error) {
	if req.State.Delete == nil {
		return infer.DeleteResponse{}, nil
	}
	state := req.State
	return infer.DeleteResponse{}, state.run(ctx, *req.State.Delete)
}

// run opens one SSH session for one command. `environment` goes as SSH env requests (a refusal fails the run);
// the previous stdout and stderr are offered the same way unless addPreviousOutputInEnv is false (a refusal only
// warns); stdin is sent when not empty.
func (c *CommandOutputs) run(ctx context.Context, command string) error {
	client, err := c.Connection.dial(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return err
	}
	defer session.Close()
	for key, value := range c.Environment {
		if err := session.Setenv(key, value); err != nil {
			p.GetLogger(ctx).Error(setenvAdvice(key))
			return fmt.Errorf("could not set environment variable %q: %w", key, err)
		}
	}
	if c.AddPreviousOutputInEnv == nil || *c.AddPreviousOutputInEnv {
		for key, value := range map[string]string{"PULUMI_COMMAND_STDOUT": c.Stdout, "PULUMI_COMMAND_STDERR": c.Stderr} {
			if value != "" && session.Setenv(key, value) != nil {
				p.GetLogger(ctx).Warning(setenvAdvice(key))
			}
		}
	}
	if c.Stdin != nil && len(*c.Stdin) > 0 {
		session.Stdin = strings.NewReader(*c.Stdin)
	}
	capture, stdout, stderr := output.Start(ctx, c.Logging)
	session.Stdout, session.Stderr = stdout, stderr
	stdoutText, stderrText, err := capture.Finish(session.Run(command), command)
	if err != nil {
		return err
	}
	c.Stdout, c.Stderr = stdoutText, stderrText
	return nil
}

func setenvAdvice(key string) string {
	return fmt.Sprintf("Unable to set '%s'. This only works if your SSH server is configured to accept these variables "+
		"via AcceptEnv. Alternatively, if a Bash-like shell runs the command on the remote host, you could prefix the "+
		"command itself with the variables in the form 'VAR=value command'", key)
}
