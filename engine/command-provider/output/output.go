// Package output captures a command's stdout and stderr the way pulumi-command v1.2.1 does
// (provider/pkg/provider/{local,remote}/commandOutputs.go, util/util.go): both streams kept apart for the outputs,
// interleaved for the error message, and - unless logging says otherwise - each line sent to the engine as an
// ephemeral info status while the command runs.
package output

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
)

// Logging is the `logging` input: which streams are shown in `pulumi up` (the outputs always hold both).
type Logging string

const (
	LogStdout          Logging = "stdout"
	LogStderr          Logging = "stderr"
	LogStdoutAndStderr Logging = "stdoutAndStderr"
	NoLogging          Logging = "none"
)

// ShouldLogStdout: no value means both streams are logged.
func (l *Logging) ShouldLogStdout() bool {
	return l == nil || *l == LogStdout || *l == LogStdoutAndStderr
}

func (l *Logging) ShouldLogStderr() bool {
	return l == nil || *l == LogStderr || *l == LogStdoutAndStderr
}

// Capture holds what one run printed.
type Capture struct {
	stdout, stderr bytes.Buffer
	both           lockedBuffer
	logWriter      *io.PipeWriter
	logDone        chan struct{}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(data []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(data)
}

// Start returns the writers for the command's stdout and stderr; call Finish when the command has ended.
func Start(ctx context.Context, logging *Logging) (*Capture, io.Writer, io.Writer) {
	c := &Capture{logDone: make(chan struct{})}
	reader, writer := io.Pipe()
	c.logWriter = writer
	go func() {
		defer close(c.logDone)
		scanner := bufio.NewScanner(reader)
		scanner.Buffer(make([]byte, 64*1024), 1024*1024)
		for scanner.Scan() {
			p.GetLogger(ctx).InfoStatus(scanner.Text())
		}
		_, _ = io.Copy(io.Discard, reader)
	}()
	stdout := []io.Writer{&c.stdout, &c.both}
	if logging.ShouldLogStdout() {
		stdout = append(stdout, writer)
	}
	stderr := []io.Writer{&c.stderr, &c.both}
	if logging.ShouldLogStderr() {
		stderr = append(stderr, writer)
	}
	return c, io.MultiWriter(stdout...), io.MultiWriter(stderr...)
}

// Finish waits for the log lines and returns the outputs (one trailing newline trimmed, as upstream), or the
// command's failure in upstream's words: the error, the command and everything it printed.
func (c *Capture) Finish(runErr error, command string) (stdout, stderr string, err error) {
	_ = c.logWriter.Close()
	<-c.logDone
	if runErr != nil {
		return "", "", fmt.Errorf("%w: running %q:\n%s", runErr, command, c.both.buf.String())
	}
	return strings.TrimSuffix(c.stdout.String(), "\n"), strings.TrimSuffix(c.stderr.String(), "\n"), nil
}

// Values makes `logging` an enum in the schema, as upstream declares it.
func (Logging) Values() []infer.EnumValue[Logging] {
	return []infer.EnumValue[Logging]{
		{Name: string(LogStdout), Value: LogStdout},
		{Name: string(LogStderr), Value: LogStderr},
		{Name: string(LogStdoutAndStderr), Value: LogStdoutAndStderr},
		{Name: string(NoLogging), Value: NoLogging},
	}
}
