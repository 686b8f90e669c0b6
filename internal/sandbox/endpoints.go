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

	"github.com/gpusupply/supply/internal/vendors/standin"
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
// at that address answers SSH on (22 when there is none). With the
// stand-ins' key as a bearer token, GET /instances lists every instance
// every stand-in holds, whichever installation made it: the vendor
// account's own console, where the supply API's /sandbox/instances shows a
// tenant its own; GET /capacity lists every item the stand-ins sell with
// its free units, and POST /capacity has other customers take them away
// or give them back (capacityChange).
func hostsHandler(hosts *standin.Hosts, key string, list func() []standin.ConsoleEntry, capacity *standin.Capacity) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ssh-port", func(w http.ResponseWriter, r *http.Request) {
		ip := r.URL.Query().Get("ip")
		if net.ParseIP(ip) == nil {
			http.Error(w, "want GET /ssh-port?ip=<address>", http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, hosts.Port(ip))
	})
	authorized := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+key)) != 1 {
				writeJSON(w, http.StatusUnauthorized, detail{"want the sandbox's key as a bearer token"})
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /instances", authorized(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, list())
	}))
	mux.HandleFunc("GET /capacity", authorized(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		items := capacity.List(standin.Selection{Vendor: q.Get("vendor"), Region: q.Get("region"),
			Contract: q.Get("contract"), InstanceType: q.Get("instance_type")})
		if items == nil {
			items = []standin.Stock{} // an empty list, not null
		}
		writeJSON(w, http.StatusOK, items)
	}))
	mux.HandleFunc("POST /capacity", authorized(func(w http.ResponseWriter, r *http.Request) {
		change, problems := readCapacityChange(w, r)
		if len(problems) > 0 {
			writeJSON(w, http.StatusUnprocessableEntity, validationErrors{problems})
			return
		}
		items, err := capacity.Set(change.selection(), *change.Free)
		switch {
		case errors.Is(err, standin.ErrUnknownVendor) || errors.Is(err, standin.ErrNoItem):
			writeJSON(w, http.StatusNotFound, detail{err.Error()})
		case err != nil:
			writeJSON(w, http.StatusInternalServerError, detail{err.Error()})
		default:
			writeJSON(w, http.StatusOK, capacityChanged{Changed: len(items), Items: items})
		}
	}))
	return mux
}

// capacityChange is the body of POST /capacity: other customers rent (or
// give back) the units of the items it picks, a vendor's in one region
// (under one contract, of one instance type, when those are given), until
// Free of each are free.
type capacityChange struct {
	Vendor       string `json:"vendor"`
	Region       string `json:"region"`
	Contract     string `json:"contract"`
	InstanceType string `json:"instance_type"`
	Free         *int   `json:"free"`
}

func (c capacityChange) selection() standin.Selection {
	return standin.Selection{Vendor: c.Vendor, Region: c.Region, Contract: c.Contract, InstanceType: c.InstanceType}
}

// capacityChanged answers POST /capacity: how many items it changed, and
// each as it is now.
type capacityChanged struct {
	Changed int             `json:"changed"`
	Items   []standin.Stock `json:"items"`
}

// maxCapacityBody bounds a POST /capacity body; a real one is a few dozen
// bytes.
const maxCapacityBody = 64 << 10

// readCapacityChange reads a POST /capacity body, strictly: one JSON
// object of capacityChange's fields, vendor, region and free given, free
// at least 0 and contract, if given, one of the two. What is wrong comes
// back as FastAPI's validation errors.
func readCapacityChange(w http.ResponseWriter, r *http.Request) (capacityChange, []validationError) {
	var c capacityChange
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxCapacityBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, []validationError{decodeProblem(err)}
	}
	if dec.More() {
		return c, []validationError{{Type: "json_invalid", Loc: []any{"body"}, Msg: "JSON decode error: one object expected, more found"}}
	}
	var problems []validationError
	for _, f := range []struct {
		name  string
		unset bool
	}{{"vendor", c.Vendor == ""}, {"region", c.Region == ""}, {"free", c.Free == nil}} {
		if f.unset {
			problems = append(problems, validationError{Type: "missing", Loc: []any{"body", f.name}, Msg: "Field required"})
		}
	}
	if c.Contract != "" && c.Contract != standin.OnDemand && c.Contract != standin.Spot {
		problems = append(problems, validationError{Type: "enum", Loc: []any{"body", "contract"},
			Msg: "Input should be 'ondemand' or 'spot'", Input: c.Contract})
	}
	if c.Free != nil && *c.Free < 0 {
		problems = append(problems, validationError{Type: "greater_than_equal", Loc: []any{"body", "free"},
			Msg: "Input should be greater than or equal to 0", Input: *c.Free})
	}
	return c, problems
}

// decodeProblem is the validation error of a body encoding/json refused.
func decodeProblem(err error) validationError {
	var typeErr *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return validationError{Type: "model_attributes_type", Loc: []any{"body"}, Msg: "Input should be a JSON object, not a JSON " + typeErr.Value}
	case errors.As(err, &typeErr):
		return validationError{Type: typeErr.Type.Kind().String() + "_type", Loc: []any{"body", typeErr.Field},
			Msg: "Input should be a valid " + typeErr.Type.String() + ", not a JSON " + typeErr.Value}
	case errors.As(err, &tooBig):
		return validationError{Type: "json_invalid", Loc: []any{"body"}, Msg: fmt.Sprintf("Body larger than %d bytes", tooBig.Limit)}
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ := strconv.Unquote(field)
		return validationError{Type: "extra_forbidden", Loc: []any{"body", name}, Msg: "Extra inputs are not permitted"}
	}
	return validationError{Type: "json_invalid", Loc: []any{"body"}, Msg: "JSON decode error: " + err.Error()}
}

// detail is an error answer in FastAPI's shape, as the supply API's.
type detail struct {
	Detail string `json:"detail"`
}

// validationErrors is a 422 answer in FastAPI's shape: one entry per
// problem with the request.
type validationErrors struct {
	Detail []validationError `json:"detail"`
}

type validationError struct {
	Type  string `json:"type"`
	Loc   []any  `json:"loc"`
	Msg   string `json:"msg"`
	Input any    `json:"input,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
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
