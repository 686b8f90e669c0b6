package userdata

import (
	"slices"
	"testing"
)

func TestReadBack(t *testing.T) {
	key := testKey(t)
	const config = "#cloud-config\nruncmd:\n  - echo renter\n"
	const script = "#!/bin/bash\necho renter > /tmp/renter\n"
	cloudInit := func(user string) string {
		doc, err := CloudInit(key, user)
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	startup := func(user string) string {
		doc, err := StartupScript(key, user)
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	for _, tc := range []struct {
		name     string
		doc      string
		wantKeys []string
		renter   string
	}{
		{"cloud-init alone", cloudInit(""), []string{key}, ""},
		{"cloud-init with a cloud-config", cloudInit(config), []string{key}, config},
		{"cloud-init with a script", cloudInit(script), []string{key}, script},
		{"start-up script alone", startup(""), nil, ""},
		{"start-up script with a script", startup(script), nil, script},
		{"start-up script with a cloud-config", startup(config), nil, config},
		{"a document supply did not build", "just text\n", nil, ""},
		{"nothing", "", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Read(tc.doc)
			if !slices.Equal(got.RootKeys, tc.wantKeys) || got.Renter != tc.renter {
				t.Errorf("Read = keys %q, renter %q; want %q, %q", got.RootKeys, got.Renter, tc.wantKeys, tc.renter)
			}
		})
	}
}

func TestFirstBoot(t *testing.T) {
	for _, tc := range []struct{ name, renter, want string }{
		{"a script runs as it is", "#!/bin/bash\necho hi\n", "#!/bin/bash\necho hi\n"},
		{"runcmd lines and argument lists", "#cloud-config\nruncmd:\n  - echo ready > /tmp/ready.txt\n  - [touch, \"/tmp/a b\", \"it's\"]\n",
			"#!/bin/sh\necho ready > /tmp/ready.txt\n'touch' '/tmp/a b' 'it'\\''s'\n"},
		{"no runcmd", "#cloud-config\npackages: [htop]\n", ""},
		{"broken YAML", "#cloud-config\nruncmd: [\n", ""},
		{"nothing", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FirstBoot(tc.renter); got != tc.want {
				t.Errorf("FirstBoot = %q, want %q", got, tc.want)
			}
		})
	}
}
