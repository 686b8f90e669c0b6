package standin

import (
	"net/http"
	"sync"
	"time"
)

// RateLimiter is a request budget per clock minute, as several vendors
// enforce one: after the budget is spent, every further request of that
// minute is refused. The zero value lets everything through.
type RateLimiter struct {
	mu        sync.Mutex
	perMinute int
	window    int64 // the clock minute being counted, in Unix minutes
	used      int
}

// Window is a limiter's minute as one request saw it.
type Window struct {
	// Limit is the budget per minute (0: unlimited).
	Limit int
	// Remaining is what is left of the budget after this request.
	Remaining int
	// Reset is the number of seconds until the minute ends.
	Reset int64
	// Over says the request is beyond the budget.
	Over bool
}

// Set makes the limiter refuse requests after perMinute in a clock
// minute (0 turns it off) and starts counting afresh.
func (l *RateLimiter) Set(perMinute int) {
	l.mu.Lock()
	l.perMinute, l.used = perMinute, 0
	l.mu.Unlock()
}

// Take counts one request at now against the budget.
func (l *RateLimiter) Take(now time.Time) Window {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perMinute <= 0 {
		return Window{}
	}
	sec := now.Unix()
	if minute := sec / 60; minute != l.window {
		l.window, l.used = minute, 0
	}
	l.used++
	return Window{
		Limit:     l.perMinute,
		Remaining: max(l.perMinute-l.used, 0),
		Reset:     60 - sec%60,
		Over:      l.used > l.perMinute,
	}
}

// Wrap counts every request to h at the time now gives and answers those
// over the budget with refuse, which writes the vendor's own 429, instead
// of passing them on.
func (l *RateLimiter) Wrap(h http.Handler, now func() time.Time, refuse func(w http.ResponseWriter, win Window)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if win := l.Take(now()); win.Over {
			refuse(w, win)
			return
		}
		h.ServeHTTP(w, r)
	})
}
