package e2e

import (
	"errors"
	"fmt"
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
	"syscall"
	"testing"
	"time"
)

// The README test runs every ```sh block of README.md, in order, in one
// bash -euo pipefail, as a newcomer who copies them into a terminal would:
// a command that fails, a placeholder never set ($RID), an answer a later
// command cannot use (jq -e finding no id) or an HTTP error fails it, and
// the first HTTP error ends the run, also inside a poll that would
// otherwise never end. What the test does that a newcomer does not, each
// for a reason:
//
//   - README line N is line N of the script (other lines are blank), so an
//     error names the README's line.
//   - A command that starts a server (`go run ./cmd/supply server ...`) is
//     run in the background, as the user's other terminal, after the server
//     the README started on the same address before is stopped (Ctrl-C);
//     the next command waits until it answers /readyz. Every server runs
//     with --sandbox-steady-stock, so what the README rents does not depend
//     on the wall clock, and --sandbox-boot-time 1s (3 s by default), as in
//     other e2e tests (through SUPPLY_* variables: a flag the README gives
//     wins).
//   - `go run ./cmd/supply ...` runs the binary the harness built (a `go`
//     on PATH that only does that), in a temporary directory standing for
//     the checkout; HOME is a temporary home with a fresh
//     ~/.ssh/id_ed25519.pub, and ssh reads that home's ~/.ssh/config (ssh
//     takes its home from the password database, not HOME), which accepts a
//     new host key as a newcomer answers "yes".
//   - Every 127.0.0.1:PORT in a block is rewritten to a free port (the same
//     one each time; readmeAddresses), and the default ones follow
//     (SUPPLY_LISTEN, SUPPLY_METRICS_LISTEN, SUPPLY_URL for the command
//     line), so the test never depends on 8080 being free.
//   - curl is the real curl, which also fails on an HTTP status of 400 or
//     more unless a comment on its line names that status ("# 409: already
//     deleted"), and cuts a stream (curl -N) after readmeStreamCut, as
//     Ctrl-C would.
//   - A block preceded by <!-- readme-test: skip (reason) --> is not run:
//     for what a test cannot have (an OpenTelemetry collector of your own,
//     the test suite itself). Fences other than sh that look like shell
//     (bash, console, ...) are refused, so no block is left out by its
//     spelling, and so is a ! that an interactive bash, unlike a script,
//     would expand from its history.

// readmeSkipMark is the HTML comment that keeps the README test from
// running the sh block right after it, with the reason.
var readmeSkipMark = regexp.MustCompile(`^\s*<!-- readme-test: skip \((.+)\) -->\s*$`)

// readmeStreamCut is how long the README test lets a stream (curl -N)
// run before cutting it, as Ctrl-C would.
const readmeStreamCut = "2"

// readmeListen and readmeMetrics are the addresses a server and the
// command line use when the README names none (--listen, --metrics-listen,
// SUPPLY_URL).
const (
	readmeListen  = "127.0.0.1:8080"
	readmeMetrics = "127.0.0.1:9464"
)

// readmeTools are the programs the README's blocks (and the test running
// them) need.
var readmeTools = []string{"bash", "curl", "jq", "ssh", "python3", "setsid"}

// requireReadmeTools skips the test, saying what is missing, when a tool
// is not on PATH, or fails it when SUPPLY_TEST_REQUIRE_README_TOOLS=1 (CI
// sets it after installing them).
func requireReadmeTools(t *testing.T) {
	t.Helper()
	var missing []string
	for _, tool := range readmeTools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("SUPPLY_TEST_REQUIRE_README_TOOLS") == "1" {
		t.Fatalf("not on PATH: %s, and SUPPLY_TEST_REQUIRE_README_TOOLS=1", strings.Join(missing, ", "))
	}
	t.Skipf("not on PATH: %s (set SUPPLY_TEST_REQUIRE_README_TOOLS=1 to make this a failure)", strings.Join(missing, ", "))
}

// readmeBlock is one ```sh block of a README.
type readmeBlock struct {
	// fence is the line number of its opening fence (1-based).
	fence int
	// lines are its lines, without the fence's indentation.
	lines []string
	// skip is why it is not run ("": it is).
	skip string
}

// shellFences are fence languages that hold shell commands the test would
// not run: the README spells them sh.
var shellFences = []string{"bash", "shell", "console", "zsh", "shell-session", "terminal"}

// parseReadme finds the README's sh blocks and their skip marks. A skip
// mark anywhere but right before an sh block, a shell block spelled
// otherwise and an unclosed fence are errors.
func parseReadme(text string) ([]readmeBlock, error) {
	lines := strings.Split(text, "\n")
	var blocks []readmeBlock
	skip, markLine := "", 0
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := readmeSkipMark.FindStringSubmatch(line); m != nil {
			skip, markLine = m[1], i+1
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "<!-- readme-test") {
			return nil, fmt.Errorf("README.md:%d: a mark is <!-- readme-test: skip (why) -->, not %q", i+1, line)
		}
		trimmed := strings.TrimLeft(line, " ")
		if !strings.HasPrefix(trimmed, "```") {
			if strings.TrimSpace(line) != "" && skip != "" {
				return nil, fmt.Errorf("README.md:%d: the skip mark is not right before a ```sh block", markLine)
			}
			continue
		}
		lang, indent := strings.TrimSpace(strings.TrimPrefix(trimmed, "```")), len(line)-len(trimmed)
		if slices.Contains(shellFences, lang) {
			return nil, fmt.Errorf("README.md:%d: a ```%s block is not run: spell it ```sh (or mark it skipped, saying why)", i+1, lang)
		}
		b := readmeBlock{fence: i + 1, skip: skip}
		if lang != "sh" && skip != "" {
			return nil, fmt.Errorf("README.md:%d: the skip mark is not right before a ```sh block", markLine)
		}
		skip = ""
		for i++; ; i++ {
			if i == len(lines) {
				return nil, fmt.Errorf("README.md:%d: the fence is never closed", b.fence)
			}
			if strings.TrimSpace(lines[i]) == "```" {
				break
			}
			b.lines = append(b.lines, strings.TrimPrefix(lines[i], strings.Repeat(" ", indent)))
		}
		if lang == "sh" {
			if n := historyBang(b.lines); n >= 0 {
				return nil, fmt.Errorf("README.md:%d: an interactive bash expands this ! from its history (event not found); "+
					"put it in single quotes or a file", b.fence+1+n)
			}
			blocks = append(blocks, b)
		}
	}
	if skip != "" {
		return nil, fmt.Errorf("README.md:%d: the skip mark is not right before a ```sh block", markLine)
	}
	return blocks, nil
}

// historyBang finds a ! that an interactive bash would expand from its
// history, as in "#!/bin/sh" between double quotes, where a script (and so
// this test) would not: the index of its line in lines, or -1. Single
// quotes, $'...', a backslash, $! and a ! before a blank, = or ( keep it.
func historyBang(lines []string) int {
	var quote byte // ', " or $ (in $'...'), 0 outside quotes
	for i, l := range lines {
		for j := 0; j < len(l); j++ {
			c := l[j]
			switch {
			case quote == '\'':
				if c == '\'' {
					quote = 0
				}
			case c == '\\':
				j++
			case quote == '$':
				if c == '\'' {
					quote = 0
				}
			case c == '"':
				quote = '"' - quote
			case quote == 0 && c == '#' && (j == 0 || l[j-1] == ' ' || l[j-1] == '\t'):
				j = len(l)
			case quote == 0 && c == '\'':
				quote = '\''
			case quote == 0 && c == '$' && strings.HasPrefix(l[j:], "$'"):
				quote, j = '$', j+1
			case c == '!' && j+1 < len(l) && !strings.ContainsRune(" \t=(\"", rune(l[j+1])) && (j == 0 || l[j-1] != '$'):
				return i
			}
		}
	}
	return -1
}

var (
	// readmeAddress is a loopback address a block names.
	readmeAddress = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
	// readmeComment is a shell comment: a # at the start of a line or
	// after a blank (inside quotes, as in "#cloud-config", it is none).
	readmeComment = regexp.MustCompile(`(^|\s)#.*$`)
	// readmeStatus is an HTTP error status a comment names.
	readmeStatus = regexp.MustCompile(`\b[45][0-9][0-9]\b`)
	// readmeServer is a command that starts a supply server.
	readmeServer = regexp.MustCompile(`(^|[\s;&|(])go run \./cmd/supply server(\s|$)`)
	// readmeListenFlag is the address a server command asks for.
	readmeListenFlag = regexp.MustCompile(`--listen[= ](\S+)`)
)

// readmeAddresses maps every 127.0.0.1:PORT the README's blocks name, and
// the defaults, to a free port of this machine: the one place where the
// test's commands differ from the README's.
func readmeAddresses(t *testing.T, blocks []readmeBlock) map[string]string {
	t.Helper()
	addrs := map[string]string{readmeListen: "", readmeMetrics: ""}
	for _, b := range blocks {
		for _, line := range b.lines {
			for _, a := range readmeAddress.FindAllString(line, -1) {
				addrs[a] = ""
			}
		}
	}
	for a := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[a] = l.Addr().String()
		l.Close()
	}
	return addrs
}

// readmeScript is the script that runs the blocks: README line N is its
// line N (the prelude is sourced on line 1, never a block's), a block's
// fence line announces the block, a server command becomes a call of
// __readme_server on its first line. allowed are the HTTP error statuses
// each line expects, as a bash associative array's items.
func readmeScript(text string, blocks []readmeBlock, addrs map[string]string, prelude string) (script, allowed string, err error) {
	out := make([]string, strings.Count(text, "\n")+1)
	out[0] = "source " + shellQuote(prelude)
	var expect []string
	rewrite := func(s string) string {
		return readmeAddress.ReplaceAllStringFunc(s, func(a string) string { return addrs[a] })
	}
	for _, b := range blocks {
		if b.skip != "" {
			continue
		}
		out[b.fence-1] = fmt.Sprintf("__readme_block %d", b.fence)
		for first := 0; first < len(b.lines); {
			// One command: its line and the lines a trailing \ joins.
			last := first
			for last < len(b.lines)-1 && strings.HasSuffix(b.lines[last], `\`) {
				last++
			}
			var code []string
			var statuses []string
			for _, l := range b.lines[first : last+1] {
				comment := readmeComment.FindString(l)
				statuses = append(statuses, readmeStatus.FindAllString(comment, -1)...)
				code = append(code, strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(l, comment)), `\`))
			}
			cmd := strings.TrimSpace(strings.Join(code, " "))
			if readmeServer.MatchString(cmd) {
				listen := readmeListen
				if m := readmeListenFlag.FindStringSubmatch(cmd); m != nil {
					listen = m[1]
				}
				if addrs[listen] == "" {
					return "", "", fmt.Errorf("README.md:%d: a server on %s: the test serves on 127.0.0.1 only", b.fence+first+1, listen)
				}
				cmd = strings.TrimSpace(strings.TrimSuffix(cmd, "&"))
				out[b.fence+first] = fmt.Sprintf("__readme_server %s %s", addrs[listen], shellQuote(rewrite(cmd)))
			} else {
				for i := first; i <= last; i++ {
					out[b.fence+i] = rewrite(b.lines[i])
				}
			}
			if len(statuses) > 0 {
				for i := first; i <= last; i++ {
					expect = append(expect, fmt.Sprintf("[%d]=%s", b.fence+i+1, shellQuote(strings.Join(statuses, " "))))
				}
			}
			first = last + 1
		}
	}
	return strings.Join(out, "\n") + "\n", strings.Join(expect, " "), nil
}

// shellQuote quotes s for bash as one word.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// readmePrelude is sourced on the script's first line: the shell options,
// the error trap and the functions readme_test.go's header describes.
// Its variables come from readmeRun.
const readmePrelude = `# The README test's prelude (e2e/readme_test.go).
set -euo pipefail
trap 'echo "README.md:$LINENO: exit status $?" >&2' ERR
declare -A __readme_allowed=(%s)
declare -A __readme_servers=()

# __readme_error LINE MESSAGE records a failure and ends the script, also
# from a condition or a subshell (a poll that would never end).
__readme_error() {
  echo "README.md:$1: $2" | tee -a "$__README_ERRORS" >&2
  kill -TERM $$
}

# A block starts, so far in the run.
__readme_block() { echo "=== README.md:$1 (${SECONDS}s)" >&2; }

# curl, failing the run on an HTTP error the line does not expect and
# cutting a stream as Ctrl-C would.
curl() {
  local line=${BASH_LINENO[0]} headers rc=0 status cut=() a
  for a in "$@"; do
    if [[ $a == --no-buffer || $a =~ ^-[a-zA-Z]*N ]]; then cut=(--max-time "$__README_STREAM_CUT"); fi
  done
  headers=$(mktemp)
  command curl -D "$headers" "${cut[@]}" "$@" || rc=$?
  status=$(awk '/^HTTP\//{s=$2} END{print s+0}' "$headers")
  rm -f "$headers"
  if [[ ${#cut[@]} -gt 0 && $rc == 28 && $status == 200 ]]; then rc=0; fi
  if [[ $rc != 0 ]]; then
    __readme_error "$line" "curl exited $rc"
    return "$rc"
  fi
  if ((status >= 400)) && [[ " ${__readme_allowed[$line]-} " != *" $status "* ]]; then
    __readme_error "$line" "HTTP $status, and no comment on the line expects it (# $status)"
    return 22
  fi
}

# ssh with the test's home's configuration (ssh takes its home from the
# password database, not HOME).
ssh() { command ssh -F "$HOME/.ssh/config" "$@"; }

# __readme_server ADDR COMMAND: stop the server started on ADDR before,
# run COMMAND in the background in a session of its own, as another
# terminal would, and wait until it answers on ADDR.
__readme_server() {
  local addr=$1 line=${BASH_LINENO[0]} log pid old i
  log="$__README_LOGS/server-$line.log"
  old=${__readme_servers[$addr]-}
  if [[ -n $old ]]; then
    kill -TERM -- "-$old"
    wait "$old" || true
  fi
  SUPPLY_LISTEN=$__README_LISTEN SUPPLY_METRICS_LISTEN=$__README_METRICS SUPPLY_SANDBOX_STEADY_STOCK=true SUPPLY_SANDBOX_BOOT_TIME=1s \
    setsid bash -c "$2" >"$log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >>"$__README_PIDS"
  __readme_servers[$addr]=$pid
  for ((i = 0; i < 300; i++)); do
    if command curl -fs -o /dev/null "http://$addr/readyz"; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  __readme_error "$line" "no server answered on $addr; its output ends with: $(tail -n 20 "$log")"
  return 1
}
`

// readmeGo is the go on the script's PATH: it runs `go run ./cmd/supply`
// with the binary under test and refuses anything else.
const readmeGo = `#!/bin/sh
# The README test's go (e2e/readme_test.go): go run ./cmd/supply runs the binary under test.
if [ "$1" = run ] && [ "$2" = ./cmd/supply ]; then
  shift 2
  exec %s "$@"
fi
echo "README test: only go run ./cmd/supply runs here; mark a block that needs more with <!-- readme-test: skip (why) -->" >&2
exit 127
`

// readmeSSHConfig is the test's home's ~/.ssh/config: the generated key
// only, and a new host key accepted as a newcomer answers "yes".
const readmeSSHConfig = `IdentityFile %[1]s/id_ed25519
IdentitiesOnly yes
UserKnownHostsFile %[1]s/known_hosts
StrictHostKeyChecking accept-new
BatchMode yes
LogLevel ERROR
ConnectTimeout 10
`

// readmeRun is a place to run a README's blocks: the checkout stand-in
// they run in, the home, the PATH and where the script keeps its logs.
type readmeRun struct {
	dir, checkout, home, logs string
	env                       []string
}

// newReadmeRun makes the directories, the home with its key and ssh
// configuration, and the go that runs binary.
func newReadmeRun(t *testing.T, binary string) *readmeRun {
	t.Helper()
	dir := t.TempDir()
	r := &readmeRun{dir: dir, checkout: filepath.Join(dir, "checkout"), home: filepath.Join(dir, "home"), logs: filepath.Join(dir, "logs")}
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{r.checkout, filepath.Join(r.home, ".ssh"), r.logs, bin} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	ssh := filepath.Join(r.home, ".ssh")
	renterKey(t, ssh, "id_ed25519")
	write(t, filepath.Join(ssh, "config"), fmt.Sprintf(readmeSSHConfig, ssh), 0o600)
	write(t, filepath.Join(bin, "go"), fmt.Sprintf(readmeGo, shellQuote(binary)), 0o700)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "SUPPLY_"), name == "SSH_AUTH_SOCK", name == "HOME", name == "PATH":
		default:
			r.env = append(r.env, kv)
		}
	}
	r.env = append(r.env, "HOME="+r.home, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return r
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// run runs the README's blocks as one script, within timeout, and returns
// everything it printed; the error names the README lines that failed.
// Servers and background jobs it started are stopped when it ends.
func (r *readmeRun) run(t *testing.T, text string, timeout time.Duration) (string, error) {
	t.Helper()
	blocks, err := parseReadme(text)
	if err != nil {
		return "", err
	}
	addrs := readmeAddresses(t, blocks)
	prelude, scriptPath := filepath.Join(r.dir, "prelude.sh"), filepath.Join(r.dir, "readme.sh")
	errorsPath, pidsPath, outPath := filepath.Join(r.dir, "errors"), filepath.Join(r.dir, "pids"), filepath.Join(r.dir, "output")
	script, allowed, err := readmeScript(text, blocks, addrs, prelude)
	if err != nil {
		return "", err
	}
	write(t, prelude, fmt.Sprintf(readmePrelude, allowed), 0o600)
	write(t, scriptPath, script, 0o600)
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()

	cmd := exec.Command("bash", scriptPath)
	cmd.Dir = r.checkout
	cmd.Env = append(slices.Clone(r.env),
		"SUPPLY_URL=http://"+addrs[readmeListen],
		"__README_LISTEN="+addrs[readmeListen], "__README_METRICS="+addrs[readmeMetrics],
		"__README_ERRORS="+errorsPath, "__README_PIDS="+pidsPath, "__README_LOGS="+r.logs,
		"__README_STREAM_CUT="+readmeStreamCut)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that its background jobs (the README's
	// webhook receiver) end with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stopReadmeServers(t, pidsPath)
	timer := time.AfterFunc(timeout, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	runErr := cmd.Wait()
	timedOut := !timer.Stop()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)

	// bash names the script's line, which is the README's.
	b, _ := os.ReadFile(outPath)
	output := strings.ReplaceAll(string(b), scriptPath+": line ", "README.md:")
	// What failed: the lines that name a README line, from the output and
	// from the errors file (a curl whose stderr the README sent elsewhere).
	failures, _ := os.ReadFile(errorsPath)
	var errs []error
	seen := map[string]bool{}
	for _, l := range strings.Split(output+"\n"+string(failures), "\n") {
		if strings.HasPrefix(l, "README.md:") && !seen[l] {
			seen[l] = true
			errs = append(errs, errors.New(l))
		}
	}
	if timedOut {
		errs = append(errs, fmt.Errorf("the README's blocks did not finish within %s", timeout))
	}
	if runErr != nil {
		errs = append(errs, fmt.Errorf("the README's blocks failed: %w", runErr))
	}
	return output, errors.Join(errs...)
}

// stopReadmeServers ends the servers the script started (SIGTERM to each
// one's process group, SIGKILL after stopTimeout) and waits until they
// are gone, so that their directories can be removed.
func stopReadmeServers(t *testing.T, pidsPath string) {
	b, err := os.ReadFile(pidsPath)
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Errorf("server pid %q: %v", f, err)
			continue
		}
		syscall.Kill(-pid, syscall.SIGTERM)
		deadline := time.Now().Add(stopTimeout)
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				t.Errorf("README server %d still running %s after SIGTERM; killed", pid, stopTimeout)
				syscall.Kill(-pid, syscall.SIGKILL)
				deadline = time.Now().Add(stopTimeout)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestREADME runs every sh block of README.md in order against the real
// binary in sandbox mode, as described at the top of this file, and fails
// on any error, naming the README's line.
func TestREADME(t *testing.T) {
	requireReadmeTools(t)
	t.Parallel()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	r := newReadmeRun(t, Binary(t))
	start := time.Now()
	out, err := r.run(t, string(text), 3*time.Minute)
	if err != nil {
		t.Fatalf("%v\n--- the blocks' output ---\n%s%s", err, tail(out, 6000), r.serverTails())
	}
	t.Logf("every README block ran in %s:\n%s", time.Since(start).Round(100*time.Millisecond), blockTimes(out))
}

// serverTails is the end of each README server's output, for a failure.
func (r *readmeRun) serverTails() string {
	logs, _ := filepath.Glob(filepath.Join(r.logs, "server-*.log"))
	var b strings.Builder
	for _, l := range logs {
		out, _ := os.ReadFile(l)
		fmt.Fprintf(&b, "\n--- %s ---\n%s", filepath.Base(l), tail(string(out), 2000))
	}
	return b.String()
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// blockTimes are the lines that announce each block, with the time so far.
func blockTimes(out string) string {
	var times []string
	for _, l := range strings.Split(out, "\n") {
		// A block's first line may follow output without a newline.
		if i := strings.Index(l, "=== README.md:"); i >= 0 {
			times = append(times, l[i:])
		}
	}
	return strings.Join(times, "\n")
}

// TestREADMERunnerFails checks the README test's own machinery on small
// READMEs against a local HTTP server ($URL): each mistake a README can
// make fails the run and names its line, and what is allowed passes.
func TestREADMERunnerFails(t *testing.T) {
	requireReadmeTools(t)
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, `{"id":"a1"}`) })
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	block := func(lines ...string) string { return "# A README\n\n```sh\n" + strings.Join(lines, "\n") + "\n```\n" }
	for _, tc := range []struct {
		name, readme string
		want         string // in the error; "" for a run that passes
	}{
		{"a placeholder never set", block("echo ok", `curl -s "$URL/resources/$RID"`), "README.md:5: RID: unbound variable"},
		{"a command that fails", block("cat no-such-file"), "README.md:4: exit status 1"},
		{"an HTTP error", block(`curl -s "$URL/nope"`), "README.md:4: HTTP 404"},
		{"an HTTP error the line expects", block(`curl -s "$URL/nope"   # 404: none`), ""},
		{"an HTTP error on a continued line", block(`curl -s \`, `  "$URL/nope"   # 404`), ""},
		{"an HTTP error in a poll", block(`until curl -s "$URL/nope"; do sleep 1; done`), "README.md:4: HTTP 404"},
		{"an answer without the id", block(`ID=$(curl -s "$URL/ok" | jq -er .resource_id)`), "README.md:4: exit status 1"},
		{"an answer with it", block(`ID=$(curl -s "$URL/ok" | jq -er .id)`, `test "$ID" = a1`), ""},
		{"variables carry to the next block", block("X=1") + "\nThen:\n\n" + block(`test "$X" = 1`), ""},
		{"a stream is cut as Ctrl-C would", block(`curl -sN "$URL/stream"`, "echo after"), ""},
		{"no server", block(`curl -s 127.0.0.1:8080/ok`), "README.md:4: curl exited 7"},
		{"a server elsewhere", block("go run ./cmd/supply server --listen :8080"), "README.md:4: a server on :8080"},
		{"a server that does not start", block("go run ./cmd/supply server"), "README.md:4: no server answered on 127.0.0.1:"},
		{"go other than go run ./cmd/supply", block("go test ./..."), "README.md:4: exit status 127"},
		{"a mark named in prose", "Marks look like `<!-- readme-test: skip (why) -->`.\n", ""},
		{"a skipped block", "<!-- readme-test: skip (it fails) -->\n```sh\nfalse\n```\n", ""},
		{"an indented block", "- a list item:\n\n  ```sh\n  cat no-such-file\n  ```\n", "README.md:4: exit status 1"},
		{"a ! an interactive shell expands", block(`echo "#!/bin/sh"`), "README.md:4: an interactive bash expands this !"},
		{"a ! it does not", block(`echo '#!/bin/sh' $'#!/bin/sh\n' "!" "a! b" \!x; true & echo $!`), ""},
		{"a bash block", "```bash\necho hidden\n```\n", "README.md:1: a ```bash block is not run"},
		{"a mark without a block", "<!-- readme-test: skip (why) -->\nText.\n", "README.md:1: the skip mark is not right before"},
		{"a mark without a reason", "<!-- readme-test: skip -->\n" + block("true"), "README.md:1: a mark is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newReadmeRun(t, "/bin/false")
			r.env = append(r.env, "URL="+srv.URL)
			out, err := r.run(t, tc.readme, 30*time.Second)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("run failed: %v\n%s", err, out)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error()+out, tc.want)):
				t.Errorf("run: %v, want an error with %q\n%s", err, tc.want, out)
			case err != nil && strings.Contains(err.Error(), "did not finish"):
				t.Errorf("run: %v, want it to end at the error", err)
			}
		})
	}
}
