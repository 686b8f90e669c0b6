package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261201142342-9e9a6435498c"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "9e9a6435498c68c025118eccf870501118ba8dec"},
		{Key: "vcs.time", Value: "2026-12-01T14:23:42Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	got := fromBuildInfo(bi)
	want := Info{Version: "v0.0.0-20261201142342-9e9a6435498c", Commit: "9e9a6435498c68c025118eccf870501118ba8dec",
		CommitTime: "2026-12-01T14:23:42Z", Modified: true, Go: "go1.26.8"}
	if got != want {
		t.Errorf("fromBuildInfo = %+v, want %+v", got, want)
	}
	if s := got.String(); s != "supply v0.0.0-20261201142342-9e9a6435498c commit 9e9a6435498c68c025118eccf870501118ba8dec (modified) from 2026-12-01T14:23:42Z built with go1.26.8" {
		t.Errorf("String = %q", s)
	}

	// The linker's values win over what go recorded.
	version, commit, commitTime = "v1.2.0", "abc123", "2026-11-30T10:00:00Z"
	defer func() { version, commit, commitTime = "", "", "" }()
	got = fromBuildInfo(bi)
	if got.Version != "v1.2.0" || got.Commit != "abc123" || got.CommitTime != "2026-11-30T10:00:00Z" || got.Modified {
		t.Errorf("with linker values: %+v", got)
	}
	if got := fromBuildInfo(nil); got.Version != "v1.2.0" || got.Commit != "abc123" {
		t.Errorf("no build info: %+v", got)
	}
}
