package sandbox

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gpusupply/supply/vendors/standin"
)

// EndpointsFile is the file, under <data dir>/sandbox, in which a sandbox
// server says how another installation reaches its stand-ins: for each
// vendor slug, the SUPPLY_* environment variables that point that
// installation's real adapters (started with --sandbox=false) here. Two
// installations sharing one vendor state is what a shared vendor account
// is in production; the file makes it testable without one.
const EndpointsFile = "endpoints.json"

// Endpoints maps a vendor slug to the environment variables of its
// adapter: credentials, base URL, and SUPPLY_SANDBOX_HOSTS_URL.
type Endpoints map[string]map[string]string

// listenState is what a sandbox keeps across restarts of one data dir, so
// that another installation's endpoints stay valid: the stand-ins' key and
// the ports they listened on (taken again where still free).
type listenState struct {
	Key   string         `json:"key"`
	Ports map[string]int `json:"ports"`
}

// hostsService names the listener that tells another installation which
// port a stand-in host's SSH answers on, in listenState.Ports.
const hostsService = "hosts"

func loadListenState(path string) (listenState, error) {
	st := listenState{Ports: map[string]int{}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return st, nil
	case err != nil:
		return st, fmt.Errorf("read sandbox state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("read sandbox state %s: %w", path, err)
	}
	if st.Ports == nil {
		st.Ports = map[string]int{}
	}
	return st, nil
}

// listen listens on loopback at the port used last time, or any port
// when there was none or it is taken now.
func listen(port int) (net.Listener, error) {
	if port > 0 {
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			return l, nil
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// hostsHandler serves the sandbox's vendor side to whoever holds its
// endpoints: GET /ssh-port?ip=127.1.x.y answers the port the stand-in host
// at that address answers SSH on (22 when there is none), and GET
// /instances, with the stand-ins' key as a bearer token, lists every
// instance every stand-in holds, whichever installation made it: the
// vendor account's own console, where the supply API's /sandbox/instances
// shows a tenant its own.
func hostsHandler(hosts *standin.Hosts, key string, list func() []standin.ConsoleEntry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ssh-port", func(w http.ResponseWriter, r *http.Request) {
		ip := r.URL.Query().Get("ip")
		if net.ParseIP(ip) == nil {
			http.Error(w, "want GET /ssh-port?ip=<address>", http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, hosts.Port(ip))
	})
	mux.HandleFunc("GET /instances", func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+key)) != 1 {
			http.Error(w, "want the sandbox's key as a bearer token", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(list())
	})
	return mux
}

// RemotePorts is the SSHPort function of an installation whose adapters
// reach another server's sandbox (SUPPLY_SANDBOX_HOSTS_URL): it asks that
// sandbox which port each host answers on. It does not remember answers:
// a host restarted with its sandbox may come back on another port, and a
// loopback question costs little. When the sandbox cannot say, it answers
// 22, as for a real address.
func RemotePorts(hostsURL string) func(ip string) int {
	client := &http.Client{Timeout: 2 * time.Second}
	return func(ip string) int {
		resp, err := client.Get(strings.TrimSuffix(hostsURL, "/") + "/ssh-port?ip=" + url.QueryEscape(ip))
		if err != nil {
			return 22
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
		p, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if resp.StatusCode != http.StatusOK || err != nil {
			return 22
		}
		return p
	}
}

// projectsValue renders Nebius's region→project map as the
// --nebius-projects flag reads it: region=project,... in region order.
func projectsValue(projects map[string]string) string {
	var parts []string
	for region, project := range projects {
		parts = append(parts, region+"="+project)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
