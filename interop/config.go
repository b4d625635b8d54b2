package interop

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ConfigVersion is the version of the impls.yaml format this package reads.
const ConfigVersion = 1

// PortPlaceholder is replaced in a server command by the free loopback port
// the harness picked, as in `siospec server --server-cmd`.
const PortPlaceholder = "{port}"

// SiospecPlaceholder is replaced in a command by the path of the running
// siospec binary (Options.Siospec), so that the Go reference can be listed
// without siospec on PATH.
const SiospecPlaceholder = "{siospec}"

// Protocols a cell can speak: Socket.IO v5 over Engine.IO v4 and Socket.IO
// v4 over Engine.IO v3.
const (
	ProtoSIO5 = "sio5"
	ProtoSIO4 = "sio4"
)

// ErrConfig is wrapped by every error about an impls.yaml file.
var ErrConfig = errors.New("interop: bad implementations file")

// Config is an implementations file (testees/impls.yaml).
type Config struct {
	// Version is the file format version; 0 or 1.
	Version int `yaml:"version" json:"version"`
	// Root is the directory the commands run in, relative to the file's
	// directory. Default: the file's directory.
	Root string `yaml:"root,omitempty" json:"root,omitempty"`
	// Impls are the implementations, in the order the grid shows them.
	Impls []Impl `yaml:"impls" json:"impls"`

	dir string // the absolute directory the commands run in
}

// Impl is one implementation: a server, a client, or both.
type Impl struct {
	// Name identifies the implementation in cells ("node-4.8.4"); letters,
	// digits, '.', '_' and '-'.
	Name string `yaml:"name" json:"name"`
	// Library and Version describe it for people ("Node socket.io /
	// socket.io-client", "4.8.4"); `siospec certify` names its peer by
	// them: the first library (before " / ") without its own version, then
	// Version ("Node socket.io 4.8.4").
	Library string `yaml:"library,omitempty" json:"library,omitempty"`
	Version string `yaml:"version,omitempty" json:"version,omitempty"`
	// Server, if set, is how to start it as a server.
	Server *ServerSpec `yaml:"server,omitempty" json:"server,omitempty"`
	// Client, if set, is its client testee.
	Client *ClientSpec `yaml:"client,omitempty" json:"client,omitempty"`
	// Notes is free text shown in the grid.
	Notes string `yaml:"notes,omitempty" json:"notes,omitempty"`
	// Dir, if set, is the directory its commands run in, absolute or
	// relative to the file's root. Default: the root.
	Dir string `yaml:"dir,omitempty" json:"dir,omitempty"`
}

// DirOf is the directory an implementation's commands run in.
func (c *Config) DirOf(im *Impl) string {
	switch {
	case im.Dir == "":
		return c.dir
	case filepath.IsAbs(im.Dir):
		return im.Dir
	}
	return filepath.Join(c.dir, im.Dir)
}

// ServerSpec starts a server that follows the fixture contract with its
// extended part (testees/node/CONTRACT.md).
type ServerSpec struct {
	// Cmd is a shell command (sh -c) with "{port}" where the port goes.
	Cmd string `yaml:"cmd" json:"cmd"`
	// Ready says when the server is ready: a path such as
	// "/socket.io/?EIO=4&transport=polling" or an absolute URL that must
	// answer a GET with 200, or else a regular expression a line of its
	// stdout must match (e.g. "^listening "). Empty: the port accepts a TCP
	// connection. The same convention as `siospec server --server-ready`.
	Ready string `yaml:"ready,omitempty" json:"ready,omitempty"`
	// Path is the Socket.IO path. Default "/socket.io/".
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Protocols it serves (sio5, sio4).
	Protocols []string `yaml:"protocols" json:"protocols"`
}

// ClientSpec runs a client testee (testees/CLIENT-CONTRACT.md).
type ClientSpec struct {
	// Exec is the testee command (sh -c).
	Exec string `yaml:"exec" json:"exec"`
	// Protocols it speaks (sio5, sio4).
	Protocols []string `yaml:"protocols" json:"protocols"`
	// Transports is SIOSPEC_TRANSPORTS. Default "polling,websocket".
	Transports string `yaml:"transports,omitempty" json:"transports,omitempty"`
	// Options are merged into SIOSPEC_OPTIONS.
	Options map[string]any `yaml:"options,omitempty" json:"options,omitempty"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// LoadConfig reads and validates an implementations file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return ParseConfig(b, abs)
}

// ParseConfig parses and validates an implementations file whose commands
// run relative to dir (joined with the file's root).
func ParseConfig(data []byte, dir string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if c.Version != 0 && c.Version != ConfigVersion {
		return nil, fmt.Errorf("%w: version %d, this siospec reads version %d", ErrConfig, c.Version, ConfigVersion)
	}
	c.Version = ConfigVersion
	c.dir = dir
	if c.Root != "" {
		if filepath.IsAbs(c.Root) {
			c.dir = c.Root
		} else {
			c.dir = filepath.Join(dir, c.Root)
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Dir is the directory the commands run in.
func (c *Config) Dir() string { return c.dir }

// Impl returns the implementation called name.
func (c *Config) Impl(name string) (*Impl, bool) {
	for i := range c.Impls {
		if c.Impls[i].Name == name {
			return &c.Impls[i], true
		}
	}
	return nil, false
}

func (c *Config) validate() error {
	if len(c.Impls) == 0 {
		return fmt.Errorf("%w: no implementations", ErrConfig)
	}
	seen := map[string]bool{}
	for i, im := range c.Impls {
		where := fmt.Sprintf("impls[%d] (%s)", i, im.Name)
		if !nameRE.MatchString(im.Name) {
			return fmt.Errorf("%w: %s: name %q: use letters, digits, '.', '_' and '-'", ErrConfig, where, im.Name)
		}
		if seen[im.Name] {
			return fmt.Errorf("%w: %s: duplicate name", ErrConfig, where)
		}
		seen[im.Name] = true
		if im.Server == nil && im.Client == nil {
			return fmt.Errorf("%w: %s: neither server nor client", ErrConfig, where)
		}
		if s := im.Server; s != nil {
			if !strings.Contains(s.Cmd, PortPlaceholder) {
				return fmt.Errorf("%w: %s: server.cmd must contain %s where the port goes", ErrConfig, where, PortPlaceholder)
			}
			if err := checkProtocols(s.Protocols); err != nil {
				return fmt.Errorf("%w: %s: server.protocols: %w", ErrConfig, where, err)
			}
			if _, _, err := readyOf(s.Ready, 0); err != nil {
				return fmt.Errorf("%w: %s: server.ready: %w", ErrConfig, where, err)
			}
			if s.Path != "" && (!strings.HasPrefix(s.Path, "/") || !strings.HasSuffix(s.Path, "/")) {
				return fmt.Errorf("%w: %s: server.path %q must start and end with /", ErrConfig, where, s.Path)
			}
		}
		if cl := im.Client; cl != nil {
			if strings.TrimSpace(cl.Exec) == "" {
				return fmt.Errorf("%w: %s: client.exec is empty", ErrConfig, where)
			}
			if err := checkProtocols(cl.Protocols); err != nil {
				return fmt.Errorf("%w: %s: client.protocols: %w", ErrConfig, where, err)
			}
			switch cl.Transports {
			case "", "polling,websocket", "websocket", "polling":
			default:
				return fmt.Errorf("%w: %s: client.transports %q (want polling,websocket, websocket or polling)", ErrConfig, where, cl.Transports)
			}
		}
	}
	return nil
}

func checkProtocols(ps []string) error {
	if len(ps) == 0 {
		return errors.New("empty")
	}
	for _, p := range ps {
		if p != ProtoSIO5 && p != ProtoSIO4 {
			return fmt.Errorf("unknown protocol %q (want %s or %s)", p, ProtoSIO5, ProtoSIO4)
		}
	}
	return nil
}

// readyOf interprets a ready string for a server on port, as `siospec
// server --server-ready` does: a path or URL to GET, else a regular
// expression for a stdout line; empty means a TCP connect.
func readyOf(r string, port int) (httpURL string, line *regexp.Regexp, err error) {
	switch {
	case r == "":
		return "", nil, nil
	case strings.HasPrefix(r, "/"):
		return fmt.Sprintf("http://127.0.0.1:%d%s", port, r), nil, nil
	case strings.HasPrefix(r, "http://") || strings.HasPrefix(r, "https://"):
		return strings.ReplaceAll(r, PortPlaceholder, fmt.Sprint(port)), nil, nil
	}
	re, err := regexp.Compile(r)
	if err != nil {
		return "", nil, fmt.Errorf("%q is neither a URL nor a regular expression: %w", r, err)
	}
	return "", re, nil
}

// commonProtocol returns the first protocol of the server's list that the
// client speaks too.
func commonProtocol(client, server []string) (string, bool) {
	for _, p := range server {
		if slices.Contains(client, p) {
			return p, true
		}
	}
	return "", false
}
