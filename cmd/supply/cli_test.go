package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gpusupply/supply/e2e"
	"github.com/gpusupply/supply/internal/privatekey/privatekeytest"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

// testSSHKey is a well-formed OpenSSH public key; sandbox instances accept any.
const testSSHKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZlZGN0b3JzZWVkMDEyMzQ1Njc4OWFiY2RlZjAxMjM0 renter@laptop"

// user is someone at a terminal-less shell: a home with an SSH key and
// SUPPLY_URL / SUPPLY_API_KEY pointing at a server.
type user struct {
	home string
	env  []string
}

// newUser has a home with ~/.ssh/id_ed25519.pub and the given SUPPLY_*
// variables; the test's own SUPPLY_* variables are never passed on.
func newUser(t *testing.T, supplyEnv ...string) *user {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519.pub"), []byte(testSSHKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u := &user{home: home}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SUPPLY_") && !strings.HasPrefix(kv, "HOME=") {
			u.env = append(u.env, kv)
		}
	}
	u.env = append(append(u.env, "HOME="+home), supplyEnv...)
	return u
}

func userOf(t *testing.T, s *e2e.Server) *user {
	return newUser(t, "SUPPLY_URL="+s.URL, "SUPPLY_API_KEY="+s.Key)
}

func (u *user) command(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.Command(e2e.Binary(t), args...)
	cmd.Env, cmd.Dir = u.env, u.home
	return cmd
}

// run runs supply and answers its stdout, stderr and exit status.
func (u *user) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := u.command(t, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run supply %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

// ok runs supply, expects it to succeed and answers stdout and stderr.
func (u *user) ok(t *testing.T, args ...string) (string, string) {
	t.Helper()
	stdout, stderr, code := u.run(t, args...)
	if code != 0 {
		t.Fatalf("supply %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	return stdout, stderr
}

// fails runs supply, expects it to fail with a one-line error on stderr
// that starts with want, and nothing on stdout.
func (u *user) fails(t *testing.T, want string, args ...string) {
	t.Helper()
	stdout, stderr, code := u.run(t, args...)
	if code == 0 || stdout != "" || !strings.HasPrefix(stderr, "supply: "+want) || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("supply %s: exit %d, stdout %q, stderr %q; want a failure saying %q",
			strings.Join(args, " "), code, stdout, stderr, want)
	}
}

// jsonOf runs supply with --json and decodes its answer into out.
func (u *user) jsonOf(t *testing.T, out any, args ...string) {
	t.Helper()
	stdout, _ := u.ok(t, append(args, "--json")...)
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		t.Fatalf("supply %s --json: %v\n%s", strings.Join(args, " "), err, stdout)
	}
}

// table splits a table into its header and rows of cells.
func table(t *testing.T, out string) ([]string, [][]string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	cells := regexp.MustCompile(`\s{2,}`)
	var rows [][]string
	for _, l := range lines[1:] {
		rows = append(rows, cells.Split(l, -1))
	}
	return cells.Split(lines[0], -1), rows
}

// column is the cells of the column named name.
func column(t *testing.T, header []string, rows [][]string, name string) []string {
	t.Helper()
	i := slices.Index(header, name)
	if i < 0 {
		t.Fatalf("no column %s in %v", name, header)
	}
	var col []string
	for _, r := range rows {
		col = append(col, r[i])
	}
	return col
}

var sshLine = regexp.MustCompile(`^ssh root@[0-9.]+( -p [0-9]+)?\n$`)

func TestCommands(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, store.EngineSQLite, "--sandbox-boot-time", "500ms")
	s.WaitVendors(t)
	u := userOf(t, s)

	t.Run("discovery", func(t *testing.T) {
		out, _ := u.ok(t, "gpus")
		header, rows := table(t, out)
		if !slices.Equal(header, []string{"FAMILY", "VARIANTS"}) || !slices.Contains(column(t, header, rows, "FAMILY"), "H100") {
			t.Fatalf("gpus table:\n%s", out)
		}
		var gpus map[string][]string
		u.jsonOf(t, &gpus, "gpus")
		if !slices.Contains(gpus["H100"], "nvidia-h100-sxm5-80gb") {
			t.Errorf("gpus --json: %v", gpus)
		}

		out, stderr := u.ok(t, "vendors")
		header, rows = table(t, out)
		if len(rows) == 0 || !slices.Equal(slices.Compact(column(t, header, rows, "STATUS")), []string{"healthy"}) {
			t.Errorf("vendors table:\n%s", out)
		}
		if !strings.Contains(stderr, "Sandbox mode") {
			t.Errorf("vendors does not say it is the sandbox: %q", stderr)
		}

		if out, _ := u.ok(t, "regions"); out != "US\nEU\nAPAC\nOther\n" {
			t.Errorf("regions = %q", out)
		}
	})

	t.Run("offers table", func(t *testing.T) {
		out, stderr := u.ok(t, "offers", "--gpu", "H100", "--limit", "3")
		header, rows := table(t, out)
		want := []string{"OFFER ID", "VENDOR", "REGION", "GPU", "COUNT", "$/GPU-H", "$/H TOTAL", "VCPU", "RAM", "CONTRACT", "EXPIRES IN"}
		if !slices.Equal(header, want) || len(rows) != 3 {
			t.Fatalf("offers table, want 3 rows under %v:\n%s", want, out)
		}
		prices := column(t, header, rows, "$/GPU-H")
		if !slices.IsSortedFunc(prices, func(a, b string) int { return strings.Compare(pad(a), pad(b)) }) {
			t.Errorf("prices not cheapest first: %v", prices)
		}
		if c := slices.Compact(column(t, header, rows, "CONTRACT")); !slices.Equal(c, []string{"on-demand"}) {
			t.Errorf("contracts %v, want only on-demand (the default, as rent's)", c)
		}
		if !regexp.MustCompile(`^3 of \d+ offers, cheapest first`).MatchString(stderr) {
			t.Errorf("offers summary: %q", stderr)
		}
		// Elsewhere than the US, Europe and Asia-Pacific, a place is its
		// country, as the offer names it.
		out, _ = u.ok(t, "offers", "--gpu", "H100", "--region", "Other")
		header, rows = table(t, out)
		for _, region := range column(t, header, rows, "REGION") {
			if !regexp.MustCompile(`^[A-Z]{2} `).MatchString(region) {
				t.Errorf("an offer of the group Other is in %q, want its country first", region)
			}
		}
	})

	t.Run("offers json and file", func(t *testing.T) {
		var res supplyapi.OfferResult
		u.jsonOf(t, &res, "offers", "--gpu", "H100", "--count", "1", "--region", "eu", "--limit", "2")
		if len(res.Offers) != 2 || res.Offers[0].Region != "EU" || res.Offers[0].GPUFamily != "H100" {
			t.Fatalf("offers --json: %+v", res.Offers)
		}
		query := filepath.Join(u.home, "query.yaml")
		if err := os.WriteFile(query, []byte("compute:\n  gpu_type: H100\n  contract_type: spot\nlimit: 4\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		res = supplyapi.OfferResult{}
		u.jsonOf(t, &res, "offers", "--file", query)
		if len(res.Offers) == 0 || len(res.Offers) > 4 || res.Offers[0].ContractType != "spot" {
			t.Fatalf("offers --file: %+v", res.Offers)
		}
	})

	t.Run("offers refused", func(t *testing.T) {
		u.fails(t, "--max-price: Input should be greater than 0", "offers", "--gpu", "H100", "--max-price", "0")
		u.fails(t, "--count: Input should be greater than or equal to 1", "offers", "--gpu", "H100", "--count", "-2")
		u.fails(t, `--gpu: unknown GPU type "H1000"; did you mean: H100`, "offers", "--gpu", "H1000")
		u.fails(t, "--region: Input should be 'US', 'EU', 'APAC' or 'Other'", "offers", "--gpu", "H100", "--region", "Mars")
		u.fails(t, "--gpu is required: e.g. --gpu H100 (supply gpus lists them)", "offers")
		u.fails(t, "--file and --gpu cannot go together: put the filter in the file", "offers", "--gpu", "H100", "--file", "q.yaml")
		u.fails(t, `--count wants a whole number, not "lots"`, "offers", "--gpu", "H100", "--count", "lots")
	})

	t.Run("procure and status", func(t *testing.T) {
		id := cheapestOffer(t, u, "lambda")
		out, _ := u.ok(t, "procure", id.String())
		if !strings.HasPrefix(out, "Procuring offer "+id.String()+": resource ") {
			t.Fatalf("procure: %q", out)
		}
		var st supplyapi.OfferStatusResponse
		u.jsonOf(t, &st, "status", id.String())
		if st.OfferID != id || st.ProcurementStatus == supplyapi.ProcurementAvailable {
			t.Fatalf("status --json after procure: %+v", st)
		}
		// The table shows the instance once it is there.
		out, _ = u.ok(t, "status", id.String())
		if !strings.Contains(out, "Procurement: ") || !strings.Contains(out, "RESOURCE ID") {
			t.Errorf("status:\n%s", out)
		}
		u.fails(t, "Offer "+id.String()+" was already procured", "procure", id.String())
	})

	t.Run("procure wait", func(t *testing.T) {
		id := cheapestOffer(t, u, "hyperstack")
		stdout, stderr := u.ok(t, "procure", id.String(), "--wait", "--name", "trainer")
		if !sshLine.MatchString(stdout) {
			t.Fatalf("procure --wait printed %q, want one ssh command", stdout)
		}
		// Not a terminal: one plain progress line per change, ending ready.
		if !regexp.MustCompile(`(?m)^(starting|provisioning) · 0/1 instances running · \d+s$`).MatchString(stderr) ||
			!regexp.MustCompile(`(?m)^ready · 1/1 instances running · \d+s$`).MatchString(stderr) {
			t.Errorf("progress on stderr:\n%s", stderr)
		}
		if strings.Contains(stderr, "\033") || strings.Contains(stderr, "\r") {
			t.Errorf("terminal codes on a pipe: %q", stderr)
		}
		var list []supplyapi.ResourceSummary
		u.jsonOf(t, &list, "resources", "--offer", id.String())
		if len(list) != 1 || list[0].Name != "trainer" || list[0].Status != supplyapi.ResourceRunning {
			t.Errorf("resources --offer: %+v", list)
		}
	})

	t.Run("rent from aws", func(t *testing.T) {
		// EC2 through its official SDK against the sandbox's stand-in.
		stdout, stderr := u.ok(t, "rent", "--gpu", "H100", "--vendor", "aws", "--wait")
		m := regexp.MustCompile(`supply delete (\S+) --wait`).FindStringSubmatch(stderr)
		if !sshLine.MatchString(stdout) || !strings.Contains(stderr, " from aws in ") || m == nil {
			t.Fatalf("rent --vendor aws: stdout %q, stderr %q", stdout, stderr)
		}
		u.ok(t, "delete", m[1], "--wait")
	})

	t.Run("rent and delete", func(t *testing.T) {
		stdout, stderr := u.ok(t, "rent", "--gpu", "H100", "--wait", "--auto-delete", "3h")
		if !sshLine.MatchString(stdout) || !strings.Contains(stderr, "Renting the cheapest of ") {
			t.Fatalf("rent: stdout %q, stderr %q", stdout, stderr)
		}
		m := regexp.MustCompile(`supply delete (\S+) --wait`).FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("rent does not say how to give it back: %q", stderr)
		}
		id := m[1]

		out, _ := u.ok(t, "resources")
		header, rows := table(t, out)
		i := slices.Index(column(t, header, rows, "RESOURCE ID"), id)
		if i < 0 || rows[i][slices.Index(header, "STATUS")] != "running" || rows[i][slices.Index(header, "SSH")]+"\n" != stdout {
			t.Fatalf("resources does not list %s running with its ssh command:\n%s", id, out)
		}
		out, _ = u.ok(t, "resource", id)
		if !strings.Contains(out, "Status:    running\n") || !strings.Contains(out, "SSH:       "+stdout) ||
			!strings.Contains(out, "Contract:  on-demand\n") || !regexp.MustCompile(`Deletes:   .* \(in 3h\)\n`).MatchString(out) {
			t.Errorf("resource (rented on demand, auto-deleted in 3h):\n%s", out)
		}
		if out, _ := u.ok(t, "resource", "extend", id, "2h"); !regexp.MustCompile(`^Resource ` + id + `: auto-delete .* \(in 2h\)\.\n$`).MatchString(out) {
			t.Errorf("resource extend 2h: %q", out)
		}
		if out, _ := u.ok(t, "resource", "extend", id, "never"); out != "Resource "+id+": auto-delete never.\n" {
			t.Errorf("resource extend never: %q", out)
		}
		u.fails(t, "DURATION must be a duration", "resource", "extend", id, "soon")

		stdout, stderr = u.ok(t, "delete", id, "--wait")
		if stdout != "Resource "+id+" deleted.\n" || !regexp.MustCompile(`(?m)^deleted · .* · \d+s$`).MatchString(stderr) {
			t.Fatalf("delete --wait: stdout %q, stderr %q", stdout, stderr)
		}
		if out, _ := u.ok(t, "resources"); strings.Contains(out, id) {
			t.Errorf("resources still lists the deleted %s:\n%s", id, out)
		}
		if out, _ := u.ok(t, "resources", "--all"); !strings.Contains(out, id) {
			t.Errorf("resources --all does not list the deleted %s:\n%s", id, out)
		}
		u.fails(t, "Resource "+id+" is already deleted", "delete", id)
	})

	t.Run("a rented machine is not offered again", func(t *testing.T) {
		// A Vast.ai offer is one machine: once rented, the next rent must
		// get another one at once, not fail at launch. Earlier subtests
		// rented some, so the GPU is one of which Vast.ai lists two
		// single-GPU machines on demand right now.
		gpu, machines := "", map[string]int{}
		for _, family := range []string{"H100", "RTX 4090", "A100"} {
			var res supplyapi.OfferResult
			u.jsonOf(t, &res, "offers", "--gpu", family, "--vendor", "vastai", "--count", "1", "--limit", "100")
			if machines[family] = len(res.Offers); len(res.Offers) >= 2 {
				gpu = family
				break
			}
		}
		if gpu == "" {
			t.Fatalf("Vast.ai lists no GPU with two single-GPU machines on demand: %v", machines)
		}
		var lines []string
		for range 2 {
			stdout, stderr := u.ok(t, "rent", "--gpu", gpu, "--vendor", "vastai")
			if !sshLine.MatchString(stdout) || strings.Contains(stderr, " · refused · ") {
				t.Fatalf("rent --vendor vastai: stdout %q, stderr %q", stdout, stderr)
			}
			lines = append(lines, stdout)
		}
		if lines[0] == lines[1] {
			t.Errorf("both rents answered %q", lines[0])
		}
	})

	t.Run("rent from Vultr", func(t *testing.T) {
		// The adapter on govultr, against the sandbox's Vultr stand-in.
		stdout, stderr := u.ok(t, "rent", "--gpu", "H100", "--vendor", "vultr")
		if !sshLine.MatchString(stdout) || !strings.Contains(stderr, "vultr") || strings.Contains(stderr, " · refused · ") {
			t.Fatalf("rent --vendor vultr: stdout %q, stderr %q", stdout, stderr)
		}
		id := regexp.MustCompile(`resource ([0-9a-f-]{36})`).FindStringSubmatch(stderr)
		if id == nil {
			t.Fatalf("no resource id in %q", stderr)
		}
		u.ok(t, "delete", id[1], "--wait")
	})

	t.Run("unknown ids", func(t *testing.T) {
		id := uuid.NewString()
		u.fails(t, "Offer "+id+" not found", "status", id)
		u.fails(t, "Offer "+id+" not found", "procure", id)
		u.fails(t, "Resource "+id+" not found", "resource", id)
		u.fails(t, "Resource "+id+" not found", "delete", id)
		u.fails(t, `"abc" is not a valid resource id: ids look like 00000000-0000-0000-0000-000000000000`, "delete", "abc")
	})

	t.Run("json everywhere", func(t *testing.T) {
		for _, args := range [][]string{
			{"gpus"}, {"vendors"}, {"regions"}, {"offers", "--gpu", "A100"}, {"resources"}, {"resources", "--all"},
		} {
			if stdout, _ := u.ok(t, append(args, "--json")...); !json.Valid([]byte(stdout)) {
				t.Errorf("supply %s --json is not JSON: %q", strings.Join(args, " "), stdout)
			}
		}
	})

	t.Run("api key", func(t *testing.T) {
		u.fails(t, "Not authenticated: the server at "+s.URL+" does not know this API key (SUPPLY_API_KEY or --api-key)",
			"regions", "--api-key", "sk-wrong")
		noKey := newUser(t, "SUPPLY_URL="+s.URL)
		noKey.fails(t, "no API key: set SUPPLY_API_KEY or pass --api-key (a new server writes its first key to supply-data/initial-api-key)", "gpus")
		// --url and --api-key win over the environment.
		if out, _ := newUser(t, "SUPPLY_URL=http://127.0.0.1:1").ok(t, "regions", "--url", s.URL, "--api-key", s.Key); out == "" {
			t.Error("regions with --url and --api-key printed nothing")
		}
	})

	t.Run("no ssh key", func(t *testing.T) {
		keyless := userOf(t, s)
		if err := os.Remove(filepath.Join(keyless.home, ".ssh", "id_ed25519.pub")); err != nil {
			t.Fatal(err)
		}
		keyless.fails(t, "no SSH public key in ~/.ssh/id_ed25519.pub or ~/.ssh/id_rsa.pub: pass --ssh-key FILE, or make one with ssh-keygen -t ed25519",
			"procure", uuid.NewString())
		rsa := filepath.Join(keyless.home, ".ssh", "id_rsa.pub")
		if err := os.WriteFile(rsa, []byte("not a key"), 0o600); err != nil {
			t.Fatal(err)
		}
		keyless.fails(t, `~/.ssh/id_rsa.pub is not an OpenSSH public key: that is one line like "ssh-ed25519 AAAA… you@host"`,
			"procure", cheapestOffer(t, u, "scaleway").String())
	})
}

// TestPrivateKeyNeverLeaves: rent, procure and mcp pointed at a private key, in
// any form, refuse it before they ask the server anything (the server
// here fails the test on any request) and say which public key to pass
// instead; so does a private key where the default public key should be.
// A file that is not there is named once.
func TestPrivateKeyNeverLeaves(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request reached the server: %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()
	u := newUser(t, "SUPPLY_URL="+srv.URL, "SUPPLY_API_KEY=sk-any")
	commands := [][]string{{"rent", "--gpu", "H100"}, {"procure", uuid.NewString()}}
	// supply mcp, given a key with --ssh-key, refuses it too, before it
	// serves anything: the agent's rent would install it.
	keyed := append(slices.Clone(commands), []string{"mcp"})
	for name, key := range privatekeytest.Forms(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			paired, alone := filepath.Join(dir, "work"), filepath.Join(dir, "alone")
			for file, text := range map[string]string{paired: key, paired + ".pub": testSSHKey, alone: key} {
				if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, args := range keyed {
				u.fails(t, paired+" is a private key, which never leaves this machine: pass its public key, --ssh-key "+paired+".pub",
					append(args, "--ssh-key", paired)...)
				u.fails(t, alone+" holds a private key, which never leaves this machine: pass a public key (a .pub file); ssh-keygen -y -f "+alone+" prints this one's",
					append(args, "--ssh-key", alone)...)
			}
		})
	}
	t.Run("as the default public key", func(t *testing.T) {
		mixedUp := newUser(t, "SUPPLY_URL="+srv.URL, "SUPPLY_API_KEY=sk-any")
		if err := os.WriteFile(filepath.Join(mixedUp.home, ".ssh", "id_ed25519.pub"), []byte(privatekeytest.Forms(t)["OpenSSH file"]), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range commands {
			mixedUp.fails(t, "~/.ssh/id_ed25519.pub holds a private key, which never leaves this machine", args...)
		}
	})
	t.Run("no such file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "missing.pub")
		for _, args := range commands {
			_, stderr, _ := u.run(t, append(args, "--ssh-key", missing)...)
			if stderr != "supply: read "+missing+": no such file or directory\n" {
				t.Errorf("supply %s with a key file that is not there: %q, want its path once", args[0], stderr)
			}
		}
	})
}

// cheapestOffer answers the id of a vendor's cheapest on-demand H100
// offer. Tests that procure take one vendor each: a procured sandbox
// machine may stay listed until the vendor's catalog is read again.
func cheapestOffer(t *testing.T, u *user, vendor string) uuid.UUID {
	t.Helper()
	var res supplyapi.OfferResult
	u.jsonOf(t, &res, "offers", "--gpu", "H100", "--vendor", vendor, "--limit", "1")
	if len(res.Offers) != 1 {
		t.Fatalf("no H100 offer")
	}
	return res.Offers[0].OfferID
}

// pad makes "$1.50" and "$12.00" sort as numbers.
func pad(price string) string {
	v, _ := strconv.ParseFloat(strings.TrimPrefix(price, "$"), 64)
	return strconv.FormatFloat(v+1e6, 'f', 2, 64)
}

// TestSlowProcurement covers waits that do not end well: Ctrl-C stops the
// wait but not the procurement, and a failed procurement is an error.
func TestSlowProcurement(t *testing.T) {
	t.Parallel()
	// Instances never boot; procurements fail after the provision timeout.
	s := e2e.Start(t, store.EngineSQLite, "--sandbox-boot-time", "1h", "--provision-timeout", "4s")
	s.WaitVendors(t)
	u := userOf(t, s)

	t.Run("interrupt", func(t *testing.T) {
		id := cheapestOffer(t, u, "lambda")
		cmd := u.command(t, "procure", id.String(), "--wait")
		seen := interruptAt(t, cmd, "provisioning · ")
		want := "supply: stopped waiting, but the procurement goes on: follow it with: supply status " + id.String() +
			", or end it with: supply cancel " + id.String()
		if seen[len(seen)-1] != want {
			t.Fatalf("after Ctrl-C: %q, want %q", seen, want)
		}
		var st supplyapi.OfferStatusResponse
		u.jsonOf(t, &st, "status", id.String())
		if st.ProcurementStatus == supplyapi.ProcurementFailed || st.ProcurementStatus == supplyapi.ProcurementAvailable {
			t.Errorf("procurement after Ctrl-C: %s, want it still going", st.ProcurementStatus)
		}
	})

	t.Run("rent fails", func(t *testing.T) {
		// A machine that never boots is no lack of capacity: the rental
		// fails on its first offer, which says why.
		_, stderr, code := u.run(t, "rent", "--gpu", "H100", "--vendor", "verda")
		tries := attempts(t, stderr)
		if code == 0 || len(tries) != 1 || tries[0].outcome != supplyapi.AttemptFailed || tries[0].reason == "" ||
			!strings.Contains(stderr, "\nsupply: procurement of offer ") {
			t.Fatalf("rent where the procurement fails: exit %d, want one failed attempt\n%s", code, stderr)
		}
	})

	t.Run("failure", func(t *testing.T) {
		id := cheapestOffer(t, u, "hyperstack")
		_, stderr, code := u.run(t, "procure", id.String(), "--wait")
		if code == 0 || !strings.Contains(stderr, "\nsupply: procurement of offer "+id.String()+" failed: ") {
			t.Fatalf("procure --wait of a failing procurement: exit %d\n%s", code, stderr)
		}
	})
}

// try is one line rent printed for an offer it tried.
type try struct {
	n               int
	vendor, region  string
	price           float64
	outcome, reason string
}

var attemptRE = regexp.MustCompile(`(?m)^attempt (\d+) · (\S+) (.+?) · \$([0-9.]+) per GPU-hour · ([a-z ]+?)(?: · (.*))?$`)

// attempts reads the attempt lines of rent's narration.
func attempts(t *testing.T, stderr string) []try {
	t.Helper()
	var out []try
	for _, m := range attemptRE.FindAllStringSubmatch(stderr, -1) {
		n, _ := strconv.Atoi(m[1])
		price, _ := strconv.ParseFloat(m[4], 64)
		out = append(out, try{n: n, vendor: m[2], region: m[3], price: price, outcome: m[5], reason: m[6]})
	}
	return out
}

// renting is the offer id rent's first line names.
var renting = regexp.MustCompile(`(?m)^Renting the cheapest of \d+ on-demand offers: .* \(offer (\S+)\)\.$`)

// TestRentFailsOver: the two cheapest H100s are sold at their vendors
// after the catalog was read (it is read once an hour here, so it still
// lists them). rent prints both refusals, each in its vendor's words, as
// they happen, and ends with the ssh line of the third; status lists the
// three. --no-fallback stops at the refusal; a rent that waits for stock
// is left by Ctrl-C with how to cancel it, and cancel ends it.
func TestRentFailsOver(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, store.EngineSQLite, "--sandbox-boot-time", "500ms", "--catalog-refresh", "1h")
	s.WaitVendors(t)
	u := userOf(t, s)
	var res supplyapi.OfferResult
	u.jsonOf(t, &res, "offers", "--gpu", "H100", "--limit", "2")
	for _, o := range res.Offers {
		s.TakeAway(t, o)
	}

	start := time.Now()
	stdout, stderr := u.ok(t, "rent", "--gpu", "H100", "--until", "10m", "--wait")
	t.Logf("ready on the third offer %s after rent started", time.Since(start).Round(100*time.Millisecond))
	tries := attempts(t, stderr)
	if !sshLine.MatchString(stdout) || len(tries) != 3 {
		t.Fatalf("rent: stdout %q, %d attempts; want the ssh line after 3\n%s", stdout, len(tries), stderr)
	}
	for i, want := range []string{supplyapi.AttemptRefused, supplyapi.AttemptRefused, supplyapi.AttemptReady} {
		a := tries[i]
		if a.n != i+1 || a.outcome != want {
			t.Errorf("attempt line %d: %+v, want attempt %d %s", i, a, i+1, want)
		}
		if i < 2 && (a.vendor != res.Offers[i].Vendor || a.region != res.Offers[i].VendorRegion ||
			a.price != math.Round(res.Offers[i].GPUPricePerHour*100)/100 || !strings.HasPrefix(a.reason, "no capacity: ")) {
			t.Errorf("attempt %d: %+v, want %s %s refused for lack of capacity", i+1, a, res.Offers[i].Vendor, res.Offers[i].VendorRegion)
		}
	}
	// Each try is told as it ends, and the ready one just before the ssh
	// line's note.
	if i, j := strings.Index(stderr, "attempt 3 "), strings.Index(stderr, "is ready. Give it back with"); i < 0 || j < i {
		t.Errorf("the ready attempt is not told before the end:\n%s", stderr)
	}
	m := renting.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("rent does not name the offer it rents: %q", stderr)
	}
	out, _ := u.ok(t, "status", m[1])
	from, to := strings.Index(out, "ATTEMPT"), strings.Index(out, "\n\nRESOURCE ID")
	if from < 0 || to < from {
		t.Fatalf("status shows no attempts before the instances:\n%s", out)
	}
	header, rows := table(t, out[from:to])
	if got := column(t, header, rows, "OUTCOME"); !slices.Equal(got, []string{"refused", "refused", "ready"}) {
		t.Errorf("status shows outcomes %v, want refused, refused, ready:\n%s", got, out)
	}
	if got := column(t, header, rows, "VENDOR"); got[0] != res.Offers[0].Vendor || got[1] != res.Offers[1].Vendor {
		t.Errorf("status shows vendors %v, want %s and %s first:\n%s", got, res.Offers[0].Vendor, res.Offers[1].Vendor, out)
	}

	t.Run("no fallback", func(t *testing.T) {
		u.jsonOf(t, &res, "offers", "--gpu", "H100", "--limit", "1")
		s.TakeAway(t, res.Offers[0])
		_, stderr, code := u.run(t, "rent", "--gpu", "H100", "--no-fallback")
		// An offer's id names the second it was shown in: the one rent
		// names is the same offer as the one taken away if it is at the
		// same vendor, in the same region.
		m := renting.FindStringSubmatch(stderr)
		if code == 0 || m == nil || len(attempts(t, stderr)) != 0 ||
			!strings.Contains(stderr, " from "+res.Offers[0].Vendor+" in "+regionOf(res.Offers[0])+" ("+res.Offers[0].VendorRegion+") ") ||
			!strings.Contains(stderr, "\nsupply: procurement of offer "+m[1]+" failed: no capacity: ") {
			t.Fatalf("rent --no-fallback of an offer out of stock: exit %d, want its refusal alone\n%s", code, stderr)
		}
		u.fails(t, "if any flags in the group [no-fallback until] are set none of the others can be", "rent", "--gpu", "H100", "--no-fallback", "--until", "1h")
		// The server judges the fallback, before anything is rented.
		for _, c := range []struct{ flag, value, want string }{
			{"--until", "soon", "supply: --until must be a duration"},
			{"--until", "25h", "supply: --until must be at most 24h0m0s"},
			{"--max-attempts", "0", "supply: --max-attempts: "},
		} {
			_, stderr, code := u.run(t, "rent", "--gpu", "H100", c.flag, c.value)
			if code == 0 || !strings.Contains(stderr, "\n"+c.want) {
				t.Errorf("rent %s %s: exit %d, want %q\n%s", c.flag, c.value, code, c.want, stderr)
			}
		}
	})

	t.Run("cancel a wait", func(t *testing.T) {
		// Nothing Hyperstack sells as an H100 is in stock: rent waits.
		u.jsonOf(t, &res, "offers", "--gpu", "H100", "--vendor", "hyperstack", "--limit", "100")
		for _, o := range res.Offers {
			s.TakeAway(t, o)
		}
		cmd := u.command(t, "rent", "--gpu", "H100", "--vendor", "hyperstack", "--until", "10m")
		seen := interruptAt(t, cmd, "provisioning · waiting for capacity: ")
		m := renting.FindStringSubmatch(strings.Join(seen, "\n"))
		if m == nil {
			t.Fatalf("rent does not name the offer it rents: %q", seen)
		}
		id := m[1]
		if want := "supply: stopped waiting, but the procurement goes on: follow it with: supply status " + id +
			", or end it with: supply cancel " + id; seen[len(seen)-1] != want {
			t.Fatalf("after Ctrl-C: %q, want %q", seen, want)
		}
		var st supplyapi.OfferStatusResponse
		u.jsonOf(t, &st, "status", id)
		if st.ProcurementStatus != supplyapi.ProcurementInProgress || !strings.HasPrefix(st.Progress, "waiting for capacity") {
			t.Fatalf("after Ctrl-C the procurement is %s (%s), want still waiting", st.ProcurementStatus, st.Progress)
		}
		if out, _ := u.ok(t, "cancel", id); out != "Procurement of offer "+id+" cancelled.\n" {
			t.Errorf("cancel: %q", out)
		}
		u.jsonOf(t, &st, "status", id)
		if st.ProcurementStatus != supplyapi.ProcurementFailed || deref(st.FailureReason) != "cancelled by the user" {
			t.Errorf("after cancel the procurement is %s (%v), want failed, cancelled by the user", st.ProcurementStatus, deref(st.FailureReason))
		}
		u.fails(t, "The procurement of offer "+id+" is failed already; delete its resources instead", "cancel", id)
		u.fails(t, "Offer ", "cancel", uuid.NewString())
	})
}

func TestServerDown(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	u := newUser(t, "SUPPLY_URL="+url, "SUPPLY_API_KEY=sk-any")
	e2e.Binary(t) // build first: only the commands are timed
	start := time.Now()
	for _, args := range [][]string{{"gpus"}, {"offers", "--gpu", "H100"}, {"rent", "--gpu", "H100"}, {"resources"}} {
		_, stderr, code := u.run(t, args...)
		want := "supply: the supply server at " + url + " is not reachable ("
		if code == 0 || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("supply %s with the server down: exit %d, %q", strings.Join(args, " "), code, stderr)
		}
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %s to find the server down", time.Since(start))
	}
}

func TestCompletionAndHelp(t *testing.T) {
	t.Parallel()
	u := newUser(t)
	for shell, marker := range map[string]string{"bash": "complete -o default -F __start_supply supply", "zsh": "#compdef supply", "fish": "complete -c supply"} {
		if out, _ := u.ok(t, "completion", shell); !strings.Contains(out, marker) {
			t.Errorf("completion %s lacks %q", shell, marker)
		}
	}
	u.fails(t, `invalid argument "powershell" for "supply completion"`, "completion", "powershell")

	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		if cmd.Runnable() && cmd.Example == "" {
			t.Errorf("supply %s has no example in its help", cmd.CommandPath())
		}
		// Every flag can come from the environment, so its help says from
		// which variable.
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Name != "help" && !strings.Contains(f.Usage, "(env SUPPLY_") {
				t.Errorf("%s --%s does not name its SUPPLY_ variable: %q", cmd.CommandPath(), f.Name, f.Usage)
			}
		})
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(rootCommand())
	if out, _ := u.ok(t, "rent", "--help"); !strings.Contains(out, "Examples:\n  supply rent --gpu H100") {
		t.Errorf("rent --help:\n%s", out)
	}
	// supply --help says how to reach a server, and groups the renter's
	// commands apart from the operator's.
	help, _ := u.ok(t, "--help")
	for _, want := range []string{
		"SUPPLY_URL (or --url; default\nhttp://127.0.0.1:8080) says where, and SUPPLY_API_KEY (or --api-key)",
		"\nRenting GPUs (from a server: SUPPLY_URL and SUPPLY_API_KEY, or --url and --api-key):\n  account ",
		"\nRunning the server:\n  migrate     Apply database migrations once",
		"\nAdministration (on the server's database):\n  accounts ",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("supply --help lacks %q:\n%s", want, help)
		}
	}
	if i, j := strings.Index(help, "  rent "), strings.Index(help, "Running the server:"); i < 0 || i > j {
		t.Errorf("supply --help does not list rent among the renting commands:\n%s", help)
	}
	version, _ := u.ok(t, "version")
	if flag, _ := u.ok(t, "--version"); flag != version || !strings.HasPrefix(version, "supply ") {
		t.Errorf("supply --version %q, supply version %q: want the same line", flag, version)
	}
}

// TestResourceByStatus: supply resource shows a way in and an auto-delete
// time only while the machine is there to reach (never for a machine
// deleting, deleted, failed or taken back), and its cost by the
// console's rule: never $0.00 for what is not free.
func TestResourceByStatus(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	var mu sync.Mutex
	var answer supplyapi.ResourceSummary
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(answer)
	}))
	defer srv.Close()
	u := newUser(t, "SUPPLY_URL="+srv.URL, "SUPPLY_API_KEY=sk-any")
	soon, gone := time.Now().Add(90*time.Minute), time.Now().Add(-time.Minute)
	for _, c := range []struct {
		status     string
		deleteAt   *time.Time
		validTo    *time.Time
		cost       float64
		want       []string
		wantNoneOf []string
	}{
		{supplyapi.ResourceRunning, &soon, nil, 0.004, []string{"SSH:       ssh root@192.0.2.7\n", "(in 1h 30m)\n", "Cost:      <$0.01 so far\n"}, nil},
		{supplyapi.ResourceRunning, nil, nil, 0.125, []string{"Deletes:   never\n", "Cost:      $0.13 so far\n"}, nil},
		{supplyapi.ResourcePreempted, nil, nil, 1.5, []string{"Deletes:   never\n", "Cost:      $1.50 so far\n"}, []string{"SSH:"}},
		{supplyapi.ResourceDeleting, nil, nil, 0.004, []string{"Cost:      <$0.01 so far\n"}, []string{"SSH:", "Deletes:"}},
		{supplyapi.ResourceDeleted, nil, &gone, 0.004, []string{"Cost:      <$0.01 in all\n"}, []string{"SSH:", "Deletes:"}},
		{supplyapi.ResourceFailed, nil, &gone, 0, []string{"Cost:      $0.00 in all\n"}, []string{"SSH:", "Deletes:"}},
	} {
		mu.Lock()
		answer = supplyapi.ResourceSummary{
			ResourceID: id, ResourceType: "vm", Vendor: "lambda", VendorRegion: "us-east-1", Status: c.status, Name: "m",
			Access: supplyapi.Access{SSHCommand: ptr("ssh root@192.0.2.7")}, DeleteAt: c.deleteAt, ValidTo: c.validTo, AccruedCost: c.cost,
			LinkedResources: []supplyapi.Link{}, OfferHistory: []supplyapi.OfferHistory{},
		}
		mu.Unlock()
		out, _ := u.ok(t, "resource", id.String())
		for _, want := range c.want {
			if !strings.Contains(out, want) {
				t.Errorf("%s machine: no %q in\n%s", c.status, want, out)
			}
		}
		for _, not := range c.wantNoneOf {
			if strings.Contains(out, not) {
				t.Errorf("%s machine: %q in\n%s", c.status, not, out)
			}
		}
	}
}

// TestNoMachinesSaysWhy: an empty list says whether there are no machines
// at all, none of the offer asked for, or only deleted ones.
func TestNoMachinesSaysWhy(t *testing.T) {
	t.Parallel()
	deleted := supplyapi.ResourceSummary{ResourceID: uuid.New(), Status: supplyapi.ResourceDeleted, LinkedResources: []supplyapi.Link{}, OfferHistory: []supplyapi.OfferHistory{}}
	var mu sync.Mutex
	var answer []supplyapi.ResourceSummary
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(answer)
	}))
	defer srv.Close()
	u := newUser(t, "SUPPLY_URL="+srv.URL, "SUPPLY_API_KEY=sk-any")
	offer := uuid.NewString()
	for _, c := range []struct {
		list []supplyapi.ResourceSummary
		args []string
		want string
	}{
		{[]supplyapi.ResourceSummary{}, []string{"resources"}, "No machines yet. Rent one with: supply rent --gpu H100\n"},
		{[]supplyapi.ResourceSummary{}, []string{"resources", "--offer", offer}, "No machines of offer " + offer + ".\n"},
		{[]supplyapi.ResourceSummary{deleted}, []string{"resources"}, "No live machines; supply resources --all shows the 1 deleted.\n"},
	} {
		mu.Lock()
		answer = c.list
		mu.Unlock()
		if stdout, stderr := u.ok(t, c.args...); stdout != "" || stderr != c.want {
			t.Errorf("supply %s with %d machines: stdout %q, stderr %q; want %q", strings.Join(c.args, " "), len(c.list), stdout, stderr, c.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestErrorsInTheUsersTerms: a mistake is told in one line, in the words
// of the command line: a mistyped command with what it may have meant, a
// missing or extra argument by its name with an example, a flag's value
// by what the flag wants, and a field the server refused by the flag (or
// argument, or query file path) it came from.
func TestErrorsInTheUsersTerms(t *testing.T) {
	t.Parallel()
	type refusal struct {
		Loc []any  `json:"loc"`
		Msg string `json:"msg"`
	}
	offer := supplyapi.Offer{OfferID: uuid.New(), GPUType: "nvidia-h100-sxm5-80gb", GPUCount: 1, Vendor: "lambda", Region: "US", VendorRegion: "us-east-1"}
	var refused struct {
		path string
		list []refusal
	}
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == refused.path:
			w.WriteHeader(http.StatusUnprocessableEntity)
			json.NewEncoder(w).Encode(map[string]any{"detail": refused.list})
		case r.URL.Path == "/get_offers":
			json.NewEncoder(w).Encode(supplyapi.OfferResult{Offers: []supplyapi.Offer{offer}, TotalCount: 1})
		default:
			t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	defer srv.Close()
	u := newUser(t, "SUPPLY_URL="+srv.URL, "SUPPLY_API_KEY=sk-any")
	query := filepath.Join(u.home, "query.yaml")
	if err := os.WriteFile(query, []byte("compute:\n  gpu_type: H1000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	for _, c := range []struct {
		args    []string
		path    string // where the server refuses the request
		refused []refusal
		want    string
	}{
		{args: []string{"rnt"}, want: `"rnt" is not a supply command: did you mean rent? (supply --help lists them)`},
		{args: []string{"keys", "creat"}, want: `"creat" is not a supply keys command: did you mean create? (supply keys --help lists them)`},
		{args: []string{"delete"}, want: "delete needs RESOURCE_ID: e.g. supply delete 21807b5e-30eb-4c3b-95e6-d331662c8fe2 --wait"},
		{args: []string{"delete", id, "now"}, want: `delete takes RESOURCE_ID and nothing more, so "now" is one too many: e.g. supply delete `},
		{args: []string{"resource", "extend", id}, want: "resource extend needs DURATION: e.g. supply resource extend "},
		{args: []string{"offers", "H100"}, want: `offers takes no arguments, only flags, so "H100" is one too many: e.g. supply offers --gpu H100`},
		{args: []string{"offers", "--gpu", "H100", "--count", "lots"}, want: `--count wants a whole number, not "lots"`},
		{args: []string{"usage", "--since", "soon"}, want: `--since wants a duration such as "90s", "30m" or "2h", not "soon"`},
		{args: []string{"offers", "--gpu", "H1000"}, path: "/get_offers",
			refused: []refusal{{[]any{"body", "compute", "gpu_type"}, `Value error, unknown GPU type "H1000"; did you mean: H100?`}},
			want:    `--gpu: unknown GPU type "H1000"; did you mean: H100?`},
		{args: []string{"offers", "--file", query}, path: "/get_offers",
			refused: []refusal{{[]any{"body", "compute", "gpu_type"}, `Value error, unknown GPU type "H1000"`}},
			want:    `compute.gpu_type: unknown GPU type "H1000"`},
		{args: []string{"rent", "--gpu", "H100", "--region", "Mars", "--count", "0"}, path: "/get_offers",
			refused: []refusal{{[]any{"body", "region"}, "Input should be 'US', 'EU', 'APAC' or 'Other'"}, {[]any{"body", "compute", "gpu_count"}, "Input should be greater than or equal to 1"}},
			want:    "--region: Input should be 'US', 'EU', 'APAC' or 'Other'; --count: Input should be greater than or equal to 1"},
		{args: []string{"rent", "--gpu", "H100", "--max-price", "9", "--until", "soon"}, path: "/procure_offer",
			refused: []refusal{{[]any{"body", "fallback", "query", "compute", "max_price_per_gpu_hour"}, "Input should be less than 5"}, {[]any{"body", "fallback", "until"}, "Value error, until must be a duration"}},
			want:    "--max-price: Input should be less than 5; --until must be a duration"},
		{args: []string{"procure", id, "--auto-delete", "soon"}, path: "/procure_offer",
			refused: []refusal{{[]any{"body", "auto_delete_after"}, "Value error, auto_delete_after must be a duration"}},
			want:    "--auto-delete must be a duration"},
		{args: []string{"resource", "extend", id, "soon"}, path: "/resources/" + id,
			refused: []refusal{{[]any{"body", "auto_delete_after"}, "Value error, auto_delete_after must be a duration"}},
			want:    "DURATION must be a duration"},
	} {
		mu.Lock()
		refused.path, refused.list = c.path, c.refused
		mu.Unlock()
		// The error is the last line (rent narrates the offer it rents
		// before the server refuses the procurement).
		stdout, stderr, code := u.run(t, c.args...)
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if code == 0 || stdout != "" || !strings.HasPrefix(lines[len(lines)-1], "supply: "+c.want) {
			t.Errorf("supply %s: exit %d, stdout %q, stderr %q; want a failure saying %q", strings.Join(c.args, " "), code, stdout, stderr, c.want)
		}
	}
	fromEnv := newUser(t, "SUPPLY_URL="+srv.URL, "SUPPLY_API_KEY=sk-any", "SUPPLY_LIMIT=many")
	fromEnv.fails(t, `SUPPLY_LIMIT wants a whole number, not "many"`, "offers", "--gpu", "H100")
}

// TestOutputIsEscaped: whatever a server answers, the command line prints
// no control character or bidi override to the terminal. The server
// refuses such names now, but rows stored before it did, or a server of
// another version, can still hold them, so the server here answers as
// such a server would.
func TestOutputIsEscaped(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	hostile := "evil\x1b[2J\x1b]0;owned\a\u202egnp.exe\r"
	summary := supplyapi.ResourceSummary{
		ResourceID: id, ResourceType: "vm", Vendor: "lambda", VendorRegion: "us\x1b[31m-east", Status: "running",
		Name: hostile, StatusMessage: &hostile, LinkedResources: []supplyapi.Link{}, OfferHistory: []supplyapi.OfferHistory{},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/resources":
			json.NewEncoder(w).Encode([]supplyapi.ResourceSummary{summary})
		case r.Method == http.MethodGet:
			json.NewEncoder(w).Encode(summary)
		default:
			w.WriteHeader(http.StatusConflict)
			json.NewEncoder(w).Encode(map[string]string{"detail": "Resource " + hostile + " was already deleted"})
		}
	}))
	defer srv.Close()
	u := newUser(t, "SUPPLY_URL="+srv.URL, "SUPPLY_API_KEY=sk-any")
	clean := func(what, out string) {
		t.Helper()
		for _, r := range out {
			if r != '\n' && !unicode.IsGraphic(r) {
				t.Errorf("%s prints %U:\n%q", what, r, out)
				return
			}
		}
		if !strings.Contains(out, `evil\x1b[2J\x1b]0;owned\x07\u202egnp.exe\x0d`) {
			t.Errorf("%s does not show the name escaped:\n%q", what, out)
		}
	}
	out, _ := u.ok(t, "resources")
	clean("supply resources", out)
	out, _ = u.ok(t, "resource", id.String())
	clean("supply resource", out)
	_, stderr, code := u.run(t, "delete", id.String())
	if code == 0 {
		t.Fatalf("delete answered 409 but exited 0")
	}
	clean("supply delete's error", stderr)
}

// TestEventsCommand: `supply events --follow --json` prints each event of
// a rental as it happens, one JSON object per line, and ends cleanly on
// Ctrl-C; `supply events` lists them afterwards.
func TestEventsCommand(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, store.EngineSQLite, "--sandbox-boot-time", "500ms")
	s.WaitVendors(t)
	u := userOf(t, s)
	follow := u.command(t, "events", "--follow", "--json")
	out, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	defer follow.Process.Kill()
	time.Sleep(500 * time.Millisecond) // the stream follows from when it opens
	u.ok(t, "rent", "--gpu", "H100", "--wait")
	lines := bufio.NewScanner(out)
	var types []string
	for lines.Scan() {
		var e struct{ Type string }
		if err := json.Unmarshal(lines.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", lines.Text(), err)
		}
		types = append(types, e.Type)
		if e.Type == "procurement.ready" {
			break
		}
	}
	if !slices.Contains(types, "resource.ready") || types[0] != "procurement.started" {
		t.Errorf("followed %v", types)
	}
	if err := follow.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := follow.Wait(); err != nil {
		t.Errorf("events --follow after Ctrl-C: %v", err)
	}
	list, _ := u.ok(t, "events", "--type", "resource.ready")
	if strings.Count(list, "resource.ready") != 1 || !strings.Contains(list, "running") {
		t.Errorf("events --type resource.ready:\n%s", list)
	}
}

// TestSessionsCommand: supply sessions lists a browser's sign-in to the
// console and supply sessions revoke ends it, so its cookie is refused.
func TestSessionsCommand(t *testing.T) {
	t.Parallel()
	s := e2e.Start(t, store.EngineSQLite)
	u := userOf(t, s)
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequest(http.MethodPost, s.URL+"/signin", strings.NewReader("api_key="+s.Key))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TestBrowser/1.0")
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 {
		t.Fatalf("sign in: %d %v", resp.StatusCode, cookies)
	}
	get := func() int {
		req, err := http.NewRequest(http.MethodGet, s.URL+"/resources", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.AddCookie(cookies[0])
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("GET /resources with the session: %d", code)
	}

	out, _ := u.ok(t, "sessions")
	header, rows := table(t, out)
	if len(rows) != 1 || !slices.Equal(column(t, header, rows, "BROWSER"), []string{"TestBrowser/1.0"}) ||
		!slices.Equal(column(t, header, rows, "KEY"), []string{s.Key[:14]}) {
		t.Fatalf("sessions table, want the browser's sign-in:\n%s", out)
	}
	var list []struct {
		ID      int64 `json:"id"`
		Current bool  `json:"current"`
	}
	u.jsonOf(t, &list, "sessions")
	if len(list) != 1 || list[0].Current || column(t, header, rows, "ID")[0] != strconv.FormatInt(list[0].ID, 10) {
		t.Fatalf("sessions --json: %+v, want the one session, not current (the command uses a key)", list)
	}

	id := strconv.FormatInt(list[0].ID, 10)
	if _, stderr := u.ok(t, "sessions", "revoke", id); !strings.Contains(stderr, "Session "+id+" ended") {
		t.Errorf("sessions revoke: stderr %q", stderr)
	}
	if code := get(); code != http.StatusUnauthorized {
		t.Errorf("GET /resources with the revoked session: %d, want 401", code)
	}
	if out, stderr := u.ok(t, "sessions"); out != "" || !strings.Contains(stderr, "No console sessions") {
		t.Errorf("sessions after the revoke: stdout %q, stderr %q; want none", out, stderr)
	}
	u.fails(t, "Session not found", "sessions", "revoke", id)
	u.fails(t, `"x" is not a session id`, "sessions", "revoke", "x")
}

// interruptAt starts cmd, sends it Ctrl-C once a line of its stderr starts
// with prefix, and returns every line it wrote; it fails the test unless
// cmd then exits with an error.
func interruptAt(t *testing.T, cmd *exec.Cmd, prefix string) []string {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	var seen []string
	for lines.Scan() {
		seen = append(seen, lines.Text())
		if strings.HasPrefix(lines.Text(), prefix) {
			cmd.Process.Signal(os.Interrupt)
			break
		}
	}
	for lines.Scan() {
		seen = append(seen, lines.Text())
	}
	if cmd.Wait() == nil {
		t.Fatalf("%s exited 0 after Ctrl-C:\n%s", cmd.Args, strings.Join(seen, "\n"))
	}
	return seen
}
