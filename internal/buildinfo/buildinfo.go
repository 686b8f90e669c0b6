// Package buildinfo says which build of supply is running: its module
// version and the commit it was built from, as `supply version` and
// GET /healthz report them.
//
// The go command records the commit (vcs.revision, vcs.time,
// vcs.modified) when it builds in a git checkout; it does not in a git
// worktree or with -buildvcs=false, where a release build sets the same
// through the linker instead:
//
//	go build -ldflags "-X github.com/gpusupply/supply/internal/buildinfo.version=v1.2.0 \
//	  -X github.com/gpusupply/supply/internal/buildinfo.commit=$(git rev-parse HEAD)" ./cmd/supply
package buildinfo

import (
	"runtime/debug"
	"sync"
)

// Set by the linker (-X) when the go command cannot record them.
var (
	version    string
	commit     string
	commitTime string
)

// Info describes one build.
type Info struct {
	// Version is the module version: a tag, a pseudo-version, or
	// "(devel)" for a build from a checkout that go could not version.
	Version string `json:"version"`
	// Commit is the git commit built; empty when unknown.
	Commit string `json:"commit,omitempty"`
	// CommitTime is the commit's time (RFC 3339). Go records no build
	// time, so that builds are reproducible; the commit's time says as
	// much about a build's age.
	CommitTime string `json:"commit_time,omitempty"`
	// Modified: the checkout had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// Go is the Go release that built it.
	Go string `json:"go"`
}

// Read returns the running binary's build information, read once.
var Read = sync.OnceValue(func() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi)
})

// fromBuildInfo reads bi (nil when the binary has none), letting the
// linker-set values win.
func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: "(devel)"}
	if bi != nil {
		info.Go = bi.GoVersion
		if bi.Main.Version != "" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Commit = s.Value
			case "vcs.time":
				info.CommitTime = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if version != "" {
		info.Version = version
	}
	if commit != "" {
		info.Commit, info.CommitTime, info.Modified = commit, commitTime, false
	}
	return info
}

// String is the one line `supply version` prints.
func (i Info) String() string {
	s := "supply " + i.Version
	if i.Commit != "" {
		s += " commit " + i.Commit
		if i.Modified {
			s += " (modified)"
		}
	}
	if i.CommitTime != "" {
		s += " from " + i.CommitTime
	}
	return s + " built with " + i.Go
}
