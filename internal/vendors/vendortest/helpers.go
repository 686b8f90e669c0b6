package vendortest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// Recorder counts the requests reaching a stand-in and keeps the last
// body and content type of each, keyed "METHOD /path", so a test can
// check what an adapter really sent. The zero value is ready to use.
type Recorder struct {
	mu     sync.Mutex
	counts map[string]int
	bodies map[string][]byte
	types  map[string]string
}

// Wrap records each request before h serves it.
func (rec *Recorder) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		key := r.Method + " " + r.URL.Path
		rec.mu.Lock()
		if rec.counts == nil {
			rec.counts, rec.bodies, rec.types = map[string]int{}, map[string][]byte{}, map[string]string{}
		}
		rec.counts[key]++
		rec.bodies[key] = body
		rec.types[key] = r.Header.Get("Content-Type")
		rec.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// Count is how many requests reached key.
func (rec *Recorder) Count(key string) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.counts[key]
}

// CountPrefix sums the requests whose key starts with prefix.
func (rec *Recorder) CountPrefix(prefix string) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := 0
	for k, c := range rec.counts {
		if strings.HasPrefix(k, prefix) {
			n += c
		}
	}
	return n
}

// Body is the last body sent to key.
func (rec *Recorder) Body(key string) []byte {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.bodies[key]
}

// ContentType is the Content-Type of the last request to key.
func (rec *Recorder) ContentType(key string) string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.types[key]
}

// JSON decodes the last body sent to key into v, failing the test when
// it is not JSON of v's shape.
func (rec *Recorder) JSON(t testing.TB, key string, v any) {
	t.Helper()
	b := rec.Body(key)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s body %q: %v", key, b, err)
	}
}

// Encoded decodes body, a stand-in's JSON answer, into v and fails the
// test unless body is byte for byte what json.NewEncoder writes for v: a
// stand-in that streams a long answer (standin.Stream) must send what it
// would have sent encoding it whole.
func Encoded(t testing.TB, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("answer %.200q: %v", body, err)
	}
	var whole bytes.Buffer
	if err := json.NewEncoder(&whole).Encode(v); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, whole.Bytes()) {
		i := 0
		for i < min(len(body), whole.Len()) && body[i] == whole.Bytes()[i] {
			i++
		}
		t.Fatalf("answer of %d bytes is not what encoding/json writes for it (%d bytes): from byte %d %.60q, want %.60q",
			len(body), whole.Len(), i, body[i:], whole.Bytes()[i:])
	}
}

// Serve serves h on a loopback HTTP server until the test ends, behind a
// Recorder that sees every request first; wrap, when not nil, goes
// between the Recorder and h (a fault or a spec check).
func Serve(t testing.TB, h http.Handler, wrap func(http.Handler) http.Handler) (*httptest.Server, *Recorder) {
	t.Helper()
	if wrap != nil {
		h = wrap(h)
	}
	rec := &Recorder{}
	srv := httptest.NewServer(rec.Wrap(h))
	t.Cleanup(srv.Close)
	return srv, rec
}

// StandInOptions fills in what a test left out of o: apiKey (when not
// empty), fresh Hosts, and a Clock from base.
func StandInOptions(o standin.Options, apiKey string, base time.Time) standin.Options {
	if o.APIKey == "" {
		o.APIKey = apiKey
	}
	if o.Hosts == nil {
		o.Hosts = &standin.Hosts{}
	}
	if o.Now == nil {
		o.Now = Clock(base)
	}
	return o
}

// Clock runs from base at the speed of real time, so instances boot
// while a stand-in's stock drift, which changes by the clock minute,
// stays put for a test that starts on a quiet minute.
func Clock(base time.Time) func() time.Time {
	start := time.Now()
	return func() time.Time { return base.Add(time.Since(start)) }
}

// signers holds the private half of every key PublicKey made, by its
// line, for LogIn.
var signers sync.Map

// PublicKey is a fresh SSH public key in authorized_keys form, as a
// renter would hand it over; LogIn logs in with it.
func PublicKey(t testing.TB) string {
	t.Helper()
	signer := newSigner(t)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " renter@test"
	signers.Store(line, signer)
	return line
}

func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// LogIn checks that the sandbox host at ip:port lets root in with
// publicKey (made by PublicKey: the key an instance was created with) and
// says it is a sandbox host showing that key, and that it refuses another
// key: proof that the key travelled through the vendor's API to the
// machine.
func LogIn(t testing.TB, ip string, port int, publicKey string) {
	t.Helper()
	signer, ok := signers.Load(publicKey)
	if !ok {
		t.Fatalf("LogIn: %q was not made by PublicKey", publicKey)
	}
	dial := func(s ssh.Signer) (*ssh.Client, error) {
		return ssh.Dial("tcp", net.JoinHostPort(ip, strconv.Itoa(port)), &ssh.ClientConfig{
			User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(s)}, Timeout: 5 * time.Second,
			HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		})
	}
	if c, err := dial(newSigner(t)); err == nil {
		c.Close()
		t.Errorf("the host at %s:%d lets in a key the instance was not created with", ip, port)
	}
	c, err := dial(signer.(ssh.Signer))
	if err != nil {
		t.Fatalf("log in to %s:%d with the instance's key: %v", ip, port, err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Output("true")
	if fp := ssh.FingerprintSHA256(signer.(ssh.Signer).PublicKey()); err != nil || !strings.Contains(string(out), "supply sandbox host") ||
		!strings.Contains(string(out), fp) {
		t.Errorf("session at %s:%d: %v\n%s\nwant a sandbox host showing the key %s", ip, port, err, out, fp)
	}
}

// WaitFor polls v.Get(id) until cond holds or 10 s pass, when it fails
// the test.
func WaitFor(t testing.TB, v vendors.Vendor, id string, cond func(vendors.Instance, error) bool) (vendors.Instance, error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		in, err := v.Get(context.Background(), id)
		if cond(in, err) {
			return in, err
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s: condition not reached; last %+v, %v", id, in, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Running is a WaitFor condition: the instance runs.
func Running(in vendors.Instance, err error) bool {
	return err == nil && in.State == vendors.StateRunning
}

// Gone is a WaitFor condition: the vendor no longer knows the instance.
func Gone(_ vendors.Instance, err error) bool { return errors.Is(err, vendors.ErrNotFound) }

// Kind is the vendors.Err* kind err wraps, or nil.
func Kind(err error) error {
	for _, k := range []error{vendors.ErrNoCapacity, vendors.ErrQuota, vendors.ErrAuth, vendors.ErrInvalid,
		vendors.ErrRateLimited, vendors.ErrTransient, vendors.ErrNotFound} {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}

// DialBanner checks that an SSH server answers at ip:port, failing the
// test otherwise.
func DialBanner(t testing.TB, ip string, port int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(port)), 2*time.Second)
	if err != nil {
		t.Fatalf("dial SSH at %s:%d: %v", ip, port, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SSH-2.0-") {
		t.Fatalf("SSH banner at %s:%d: %q, %v", ip, port, line, err)
	}
}

// Ownership is the check every adapter runs for the marks an instance
// carries: created from req with an owner (an installation id), the
// instance names the same resource id and owner when Create answers,
// when Get reads it and when List lists it. Without the owner, the
// reconciler of one installation could not tell its instances from
// another's on a shared vendor account.
func Ownership(t *testing.T, v vendors.Vendor, req vendors.CreateRequest) {
	t.Helper()
	ctx := context.Background()
	req.Owner = vendors.NewOwner()
	check := func(how string, in vendors.Instance) {
		t.Helper()
		if in.ResourceID != req.ResourceID || in.Owner != req.Owner {
			t.Errorf("%s: resource %q owner %q, want %q %q", how, in.ResourceID, in.Owner, req.ResourceID, req.Owner)
		}
	}
	in, err := v.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	check("Create", in)
	got, err := v.Get(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("Get", got)
	list, err := v.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range list {
		if x.ID == in.ID {
			found = true
			check("List", x)
		}
	}
	if !found {
		t.Errorf("List does not show instance %s", in.ID)
	}
}
