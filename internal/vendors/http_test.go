package vendors

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestClientRetriesOnlyRepeatableRequests(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	c := &Client{Vendor: "test", BaseURL: srv.URL, Retries: 3}

	var out struct{ OK bool }
	if err := c.Do(context.Background(), Request{Op: "get", Method: http.MethodGet, Path: "/x"}, &out); err != nil || !out.OK {
		t.Fatalf("GET through two 503s: %v %+v", err, out)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("GET sent %d times, want 3", n)
	}

	calls.Store(0)
	err := c.Do(context.Background(), Request{Op: "create", Method: http.MethodPost, Path: "/x", JSON: map[string]int{"a": 1}}, nil)
	if !errors.Is(err, ErrTransient) {
		t.Errorf("POST answered 503: %v, want ErrTransient", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("a create POST was sent %d times; it must never be re-sent blindly", n)
	}
	var e *Error
	if !errors.As(err, &e) || e.Vendor != "test" || e.Op != "create" || e.Status != 503 {
		t.Errorf("error %#v lacks its context", err)
	}
}

func TestClientErrorsAndRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/limited":
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/custom":
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"code":"out-of-stock"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	c := &Client{Vendor: "test", BaseURL: srv.URL, Retries: 3, MaxWait: time.Second,
		ParseError: func(status int, _ http.Header, body []byte) *Error {
			if string(body) == `{"code":"out-of-stock"}` {
				return &Error{Kind: ErrNoCapacity, Message: "out of stock"}
			}
			return nil
		}}
	start := time.Now()
	err := c.Do(context.Background(), Request{Op: "list", Method: http.MethodGet, Path: "/limited"}, nil)
	if !errors.Is(err, ErrRateLimited) || RetryAfter(err) != 2*time.Minute {
		t.Errorf("429: %v (retry after %v)", err, RetryAfter(err))
	}
	if time.Since(start) > 500*time.Millisecond {
		t.Errorf("a Retry-After beyond MaxWait must be returned, not waited out (took %v)", time.Since(start))
	}
	if err := c.Do(context.Background(), Request{Op: "create", Method: http.MethodPost, Path: "/custom"}, nil); !errors.Is(err, ErrNoCapacity) {
		t.Errorf("vendor error envelope: %v, want ErrNoCapacity", err)
	}
	if err := c.Do(context.Background(), Request{Op: "get", Method: http.MethodGet, Path: "/gone"}, nil); !IsNotFound(err) {
		t.Errorf("404: %v, want ErrNotFound", err)
	}
}

func TestClientTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	c := &Client{Vendor: "test", BaseURL: srv.URL, Timeout: 100 * time.Millisecond}
	start := time.Now()
	err := c.Do(context.Background(), Request{Op: "get", Method: http.MethodGet, Path: "/hang"}, nil)
	if !errors.Is(err, ErrTransient) || time.Since(start) > 2*time.Second {
		t.Errorf("hung vendor: %v after %v", err, time.Since(start))
	}
}

func TestStatusKindAndRetryAfter(t *testing.T) {
	for status, want := range map[int]error{401: ErrAuth, 403: ErrAuth, 404: ErrNotFound, 402: ErrQuota, 429: ErrRateLimited, 500: ErrTransient, 503: ErrTransient, 400: ErrInvalid} {
		if got := StatusKind(status); got != want {
			t.Errorf("StatusKind(%d) = %v, want %v", status, got, want)
		}
	}
	for in, want := range map[string]time.Duration{"": 0, "7": 7 * time.Second, "-3": 0, "soon": 0} {
		if got := ParseRetryAfter(in); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
	if d := ParseRetryAfter(time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)); d < 50*time.Second || d > time.Minute {
		t.Errorf("HTTP-date Retry-After = %v", d)
	}
}

func TestParseName(t *testing.T) {
	id := "0b0e1f52-6c1a-4c55-9d1a-9d0f3c2f8a11"
	owner := NewOwner()
	if !ValidOwner(owner) {
		t.Fatalf("NewOwner made %q, which ValidOwner refuses", owner)
	}
	for _, tt := range []struct{ name, owner, id string }{
		{InstanceName(id), "", id},
		{OwnedName(owner, id), owner, id},
		{OwnedName("", id), "", id},
		{"", "", ""},
		{"supply-", "", ""},
		{"my-vm", "", ""},
		{"supply-" + id + "x", "", ""},
		{"supply-NOTANOWNER1-" + id, "", ""},
		{"supply-0123456789ab" + id, "", ""},
		{"supply-" + strings.Repeat("z", 36), "", ""},
	} {
		gotOwner, gotID := ParseName(tt.name)
		if gotOwner != tt.owner || gotID != tt.id || ResourceIDFromName(tt.name) != tt.id {
			t.Errorf("ParseName(%q) = %q, %q; want %q, %q", tt.name, gotOwner, gotID, tt.owner, tt.id)
		}
	}
	if n := len(OwnedName(owner, id)); n > 64 {
		t.Errorf("an owned name is %d characters, over Lambda's and Vast.ai's limits", n)
	}
}

// TestNewClient: the shared constructor's client retries a GET, sends
// the bearer token, and its WithoutRetries copy sends a PUT only once.
func TestNewClient(t *testing.T) {
	var calls atomic.Int32
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		auth.Store(r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c := NewClient(ClientConfig{Vendor: "test", BaseURL: srv.URL, RateLimit: 1000, Burst: 10,
		Timeout: time.Second, MaxWait: time.Second, Authorize: BearerAuth("k3y")})

	err := c.Do(context.Background(), Request{Op: "get", Method: http.MethodGet, Path: "/x"}, nil)
	if !errors.Is(err, ErrTransient) {
		t.Errorf("GET answered 503: %v, want ErrTransient", err)
	}
	if n := calls.Load(); n != 1+clientRetries {
		t.Errorf("GET sent %d times, want %d", n, 1+clientRetries)
	}
	if got := auth.Load(); got != "Bearer k3y" {
		t.Errorf("Authorization %q, want the bearer token", got)
	}

	calls.Store(0)
	once := c.WithoutRetries()
	if err := once.Do(context.Background(), Request{Op: "rent", Method: http.MethodPut, Path: "/x"}, nil); !errors.Is(err, ErrTransient) {
		t.Errorf("PUT answered 503: %v, want ErrTransient", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("PUT without retries sent %d times, want 1", n)
	}
	if c.Retries != clientRetries || once.Limiter != c.Limiter {
		t.Errorf("WithoutRetries changed the original (%d retries) or dropped the shared limiter", c.Retries)
	}
}
