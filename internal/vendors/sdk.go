package vendors

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"golang.org/x/time/rate"
)

// SDKTransport is the http.RoundTripper under a vendor's official client.
// It spends the rate budget on every request (each page of a listing the
// client pages through too), sends the credentials, and notes each
// answer's status, Retry-After and error body in the Exchange of the call
// that made it (WithExchange): official clients' errors keep little of
// the answer (the status, a header, an error code in the body).
type SDKTransport struct {
	Base    http.RoundTripper
	Limiter *rate.Limiter
	// Bearer, when set, is sent as "Authorization: Bearer <Bearer>"; empty:
	// the client sends its own credentials.
	Bearer string
}

// RoundTrip waits for the budget, sends r and notes the answer.
func (t *SDKTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.Limiter.Wait(r.Context()); err != nil {
		return nil, fmt.Errorf("rate limiter: %w", err)
	}
	if t.Bearer != "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+t.Bearer)
	}
	resp, err := t.Base.RoundTrip(r)
	ex, _ := r.Context().Value(exchangeKey{}).(*Exchange)
	if err != nil || ex == nil {
		return resp, err
	}
	ex.Status = resp.StatusCode
	ex.RetryAfter = resp.Header.Get("Retry-After")
	if resp.StatusCode >= 300 {
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		ex.Body = body
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, nil
}

// Exchange is what an SDKTransport saw of a call's last answer: its
// status (0: none came), Retry-After and, for a status of 300 or more, its
// body. A call's requests are sent one after another, so it needs no lock.
type Exchange struct {
	Status     int
	RetryAfter string
	Body       []byte
}

type exchangeKey struct{}

// WithExchange is ctx carrying a new Exchange, which the SDKTransport
// fills for the requests made with ctx.
func WithExchange(ctx context.Context) (context.Context, *Exchange) {
	ex := &Exchange{}
	return context.WithValue(ctx, exchangeKey{}, ex), ex
}
