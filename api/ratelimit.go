package api

import (
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// accountLimiter keeps one token bucket per account, so that one
// client polling too hard slows down only itself.
type accountLimiter struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	byID  map[int64]*rate.Limiter
}

func newAccountLimiter(perSecond float64, burst int) *accountLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &accountLimiter{limit: rate.Limit(perSecond), burst: max(burst, 1), byID: map[int64]*rate.Limiter{}}
}

// allow takes a token for the account, or says how long until one is free.
func (l *accountLimiter) allow(accountID int64, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	lim, ok := l.byID[accountID]
	if !ok {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.byID[accountID] = lim
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// retryAfter renders a wait as a Retry-After value: whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
