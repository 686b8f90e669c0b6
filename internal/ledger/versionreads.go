package ledger

import (
	"context"
	"sync"
	"time"
)

// versionReadTimeout bounds a shared ChangeVersion read, which runs on no
// request's context (each waiting poll still gives up on its own).
const versionReadTimeout = 10 * time.Second

// versionReads shares ChangeVersion reads among concurrent polls of one
// account. A poll may only use a read that started after the poll did:
// one that started before could miss a change committed just before the
// poll, and the poll would serve what it replaced. So a poll that finds a
// read under way does not join it; it waits for the next read, which
// starts when the current one ends and serves every poll that arrived
// meanwhile. With one read at a time per account, polls queue on that
// instead of on database connections, and a queue of polls costs one read.
type versionReads struct {
	read func(ctx context.Context, accountID int64) (int64, error)

	mu       sync.Mutex
	accounts map[int64]*accountReads
}

// accountReads is there while one of the account's reads is under way; next
// is the read that starts after it, which polls that arrived meanwhile wait
// for.
type accountReads struct {
	next *versionRead
}

type versionRead struct {
	done    chan struct{}
	version int64
	err     error
}

func newVersionReads(read func(ctx context.Context, accountID int64) (int64, error)) *versionReads {
	return &versionReads{read: read, accounts: map[int64]*accountReads{}}
}

// get is the account's ChangeVersion as read after get was called.
func (v *versionReads) get(ctx context.Context, accountID int64) (int64, error) {
	v.mu.Lock()
	a, running := v.accounts[accountID]
	if !running {
		// No read under way: this poll reads, on its own context.
		v.accounts[accountID] = &accountReads{}
		v.mu.Unlock()
		version, err := v.read(ctx, accountID)
		v.done(accountID)
		return version, err
	}
	if a.next == nil {
		a.next = &versionRead{done: make(chan struct{})}
	}
	r := a.next
	v.mu.Unlock()
	select {
	case <-r.done:
		return r.version, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// done ends the account's read under way, and starts the next one if
// polls wait for it.
func (v *versionReads) done(accountID int64) {
	v.mu.Lock()
	a := v.accounts[accountID]
	next := a.next
	if next == nil {
		delete(v.accounts, accountID)
		v.mu.Unlock()
		return
	}
	a.next = nil
	v.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), versionReadTimeout)
		defer cancel()
		next.version, next.err = v.read(ctx, accountID)
		close(next.done)
		v.done(accountID)
	}()
}
