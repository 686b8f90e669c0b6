package client_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// clientMayImport is everything outside the standard library that the
// client may be built from: itself, the wire types and their uuid package.
var clientMayImport = []string{
	"github.com/gpusupply/supply/client",
	"github.com/gpusupply/supply/supplyapi",
	"github.com/google/uuid",
}

// TestClientIsOnlyAClient keeps the client a client: a program that
// imports it gets the standard library, the wire types and uuid, never the
// server (its database drivers, job queue and vendor SDKs). It names each
// package that crept in and the allowed package that imports it.
func TestClientIsOnlyAClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps",
		"-f", "{{.ImportPath}}\t{{.Standard}}\t{{join .Imports \" \"}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	standard := map[string]bool{}
	imports := map[string][]string{}
	for line := range strings.Lines(strings.TrimSpace(string(out))) {
		f := strings.Split(strings.TrimRight(line, "\n"), "\t")
		if len(f) != 3 {
			t.Fatalf("go list printed %q", line)
		}
		standard[f[0]], imports[f[0]] = f[1] == "true", strings.Fields(f[2])
	}
	if len(imports) == 0 {
		t.Fatal("go list -deps listed nothing")
	}
	// Every package the client is built from is reached through the
	// allowed ones, so an import of theirs is where anything else enters.
	for _, allowed := range clientMayImport {
		for _, imp := range imports[allowed] {
			if !standard[imp] && !slices.Contains(clientMayImport, imp) {
				t.Errorf("%s imports %s: the client may be built only from the standard library and %v",
					allowed, imp, clientMayImport)
			}
		}
	}
}
