package remote

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/retry"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Connection is the `connection` input, with upstream's field names and defaults
// (provider/pkg/provider/remote/connection.go at v1.2.1): user "root", port 22, 10 dial errors, 15 s per dial.
// The defaults are applied by infer's Check, so they are stored in state as if the program had set them.
type Connection struct {
	User               *string  `pulumi:"user,optional"`
	Password           *string  `pulumi:"password,optional" provider:"secret"`
	Host               *string  `pulumi:"host"`
	Port               *float64 `pulumi:"port,optional"`
	PrivateKey         *string  `pulumi:"privateKey,optional" provider:"secret"`
	PrivateKeyPassword *string  `pulumi:"privateKeyPassword,optional" provider:"secret"`
	AgentSocketPath    *string  `pulumi:"agentSocketPath,optional"`
	DialErrorLimit     *int     `pulumi:"dialErrorLimit,optional"`
	PerDialTimeout     *int     `pulumi:"perDialTimeout,optional"`
	HostKey            *string  `pulumi:"hostKey,optional"`
	Proxy              *Proxy   `pulumi:"proxy,optional"`
}

// Proxy is accepted in the schema and refused when set: this project never dials through a bastion.
type Proxy struct {
	Host *string `pulumi:"host"`
}

func (c *Connection) Annotate(a infer.Annotator) {
	a.SetDefault(&c.User, "root")
	a.SetDefault(&c.Port, 22)
	a.SetDefault(&c.DialErrorLimit, 10)
	a.SetDefault(&c.PerDialTimeout, 15)
}

// clientConfig: a pinned host key is parsed as an authorized_keys line and checked exactly, and only its algorithm
// is offered; without one any key is accepted. A private key is tried before the password (which also answers
// keyboard-interactive prompts), then any agent at SSH_AUTH_SOCK.
func (c *Connection) clientConfig() (*ssh.ClientConfig, error) {
	config := &ssh.ClientConfig{
		User:            *c.User,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // upstream's behaviour when no hostKey is given
		Timeout:         time.Duration(*c.PerDialTimeout) * time.Second,
	}
	if c.HostKey != nil {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(*c.HostKey))
		if err != nil {
			return nil, fmt.Errorf("failed to parse host key: %w", err)
		}
		config.HostKeyCallback = ssh.FixedHostKey(key)
		config.HostKeyAlgorithms = []string{key.Type()}
	}
	if c.PrivateKey != nil {
		var signer ssh.Signer
		var err error
		if c.PrivateKeyPassword != nil {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(*c.PrivateKey), []byte(*c.PrivateKeyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(*c.PrivateKey))
		}
		if err != nil {
			return nil, err
		}
		config.Auth = append(config.Auth, ssh.PublicKeys(signer))
	}
	if c.Password != nil {
		password := *c.Password
		config.Auth = append(config.Auth, ssh.Password(password), ssh.KeyboardInteractive(
			func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
	}
	socket := os.Getenv("SSH_AUTH_SOCK")
	if c.AgentSocketPath != nil {
		socket = *c.AgentSocketPath
	}
	if socket != "" {
		if _, err := os.Stat(socket); err == nil || c.AgentSocketPath != nil {
			conn, err := net.Dial("unix", socket)
			if err != nil {
				return nil, err
			}
			config.Auth = append(config.Auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
		}
	}
	return config, nil
}

// dial connects, retrying every failure - refused, timed out, authentication, host key - with the SDK's backoff
// (100 ms, x1.5, at most 5 s) until dialErrorLimit failures (-1: no limit), reporting each retry as a status line.
func (c *Connection) dial(ctx context.Context) (*ssh.Client, error) {
	if c.Proxy != nil {
		return nil, fmt.Errorf("connection.proxy is not supported by the engine lab's command provider stand-in")
	}
	config, err := c.clientConfig()
	if err != nil {
		return nil, err
	}
	endpoint := net.JoinHostPort(*c.Host, fmt.Sprintf("%d", int(*c.Port)))
	limit := *c.DialErrorLimit
	var lastErr error
	ok, client, err := retry.Until(ctx, retry.Acceptor{
		Accept: func(try int, _ time.Duration) (bool, any, error) {
			client, dialErr := ssh.Dial("tcp", endpoint, config)
			if dialErr == nil {
				return true, client, nil
			}
			lastErr = dialErr
			dials := try + 1
			if limit > -1 && dials > limit {
				return true, nil, fmt.Errorf("after %d failed attempts: %w", try, dialErr)
			}
			shown := "inf"
			if limit != -1 {
				shown = fmt.Sprintf("%d", limit)
			}
			p.GetLogger(ctx).InfoStatusf("Dial %d/%s failed: retrying", dials, shown)
			return false, nil, nil
		},
	})
	if ok && err == nil {
		return client.(*ssh.Client), nil
	}
	if err == nil {
		err = ctx.Err()
		if err == nil {
			err = lastErr
		}
	}
	return nil, err
}
