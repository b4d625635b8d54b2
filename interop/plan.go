package interop

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/siospec/siospec/faultproxy"
)

// Planned is one cell to run: which client, server, profile and protocol,
// or why it cannot run (Reason, for an unsupported cell).
type Planned struct {
	Client, Server *Impl
	Profile        string
	Protocol       string
	Reason         string // non-empty: unsupported
	Seed           int64
}

// Key is "CLIENT/SERVER/PROFILE".
func (p Planned) Key() string { return p.Client.Name + "/" + p.Server.Name + "/" + p.Profile }

// Profiles the matrix knows: "none" plus the fault proxy's profiles.
func Profiles() []string {
	ps := []string{ProfileNone}
	for _, s := range faultproxy.Profiles() {
		ps = append(ps, s.Name)
	}
	return ps
}

// CheckProfiles validates profile names.
func CheckProfiles(names []string) error {
	known := Profiles()
	if len(names) == 0 {
		return fmt.Errorf("no profile")
	}
	for i, n := range names {
		if !slices.Contains(known, n) {
			return fmt.Errorf("unknown profile %q (known: %s)", n, strings.Join(known, ", "))
		}
		if slices.Contains(names[:i], n) {
			return fmt.Errorf("profile %q given twice", n)
		}
	}
	return nil
}

// Plan lays out every cell: for each client (in file order), each server,
// each profile, sorted by key. seed is the run's root seed; each cell gets
// its own seed derived from it and its key.
func Plan(c *Config, profiles []string, seed int64) []Planned {
	var out []Planned
	for i := range c.Impls {
		cl := &c.Impls[i]
		if cl.Client == nil {
			continue
		}
		for j := range c.Impls {
			sv := &c.Impls[j]
			if sv.Server == nil {
				continue
			}
			for _, pr := range profiles {
				p := Planned{Client: cl, Server: sv, Profile: pr}
				p.Seed = CellSeed(seed, p.Key())
				if proto, ok := commonProtocol(cl.Client.Protocols, sv.Server.Protocols); ok {
					p.Protocol = proto
				} else {
					p.Reason = fmt.Sprintf("no common protocol: client speaks %s, server %s",
						strings.Join(cl.Client.Protocols, ","), strings.Join(sv.Server.Protocols, ","))
				}
				out = append(out, p)
			}
		}
	}
	slices.SortFunc(out, func(a, b Planned) int { return strings.Compare(a.Key(), b.Key()) })
	return out
}

// CellSeed derives a cell's seed from the root seed and its key.
func CellSeed(root int64, key string) int64 {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(root))
	h.Write(b[:])
	h.Write([]byte(key))
	return int64(binary.BigEndian.Uint64(h.Sum(nil)[:8]) >> 1)
}

// ShardOf returns the cells of shard s: the runnable cells are dealt out in
// key order round-robin, then the unsupported ones (which cost nothing)
// continue the deal, so every shard gets the same number of cells to run,
// give or take one, and the same plan always gives the same shards.
func ShardOf(plan []Planned, s Shard) []Planned {
	if s.N <= 1 {
		return plan
	}
	var out []Planned
	i := 0
	for _, runnable := range []bool{true, false} {
		for _, p := range plan {
			if (p.Reason == "") != runnable {
				continue
			}
			if i%s.N == s.K-1 {
				out = append(out, p)
			}
			i++
		}
	}
	slices.SortFunc(out, func(a, b Planned) int { return strings.Compare(a.Key(), b.Key()) })
	return out
}

// Infos describes the configuration's implementations for matrix.json.
func Infos(c *Config) []ImplInfo {
	var out []ImplInfo
	for _, im := range c.Impls {
		in := ImplInfo{Name: im.Name, Library: im.Library, Version: im.Version, Notes: im.Notes}
		if im.Server != nil {
			in.Server, in.ServerCmd = im.Server.Protocols, im.Server.Cmd
		}
		if im.Client != nil {
			in.Client, in.ClientCmd = im.Client.Protocols, im.Client.Exec
		}
		out = append(out, in)
	}
	return out
}
