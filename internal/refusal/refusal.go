// Package refusal is how the service says no to a request it understood:
// a kind, which the API answers with its HTTP status, and the sentence the
// client reads as the answer's detail. The read side (package ledger) and
// the workflow (package provision) refuse with the same kinds, so the API
// maps one set; a field a client got wrong is an offers.QueryError (422)
// instead.
package refusal

import (
	"errors"
	"fmt"
)

// Kinds of refusal, by the status the API answers.
var (
	// ErrNotFound: no such offer or resource for this account (404).
	ErrNotFound = errors.New("not found")
	// ErrGone: the offer expired before it was procured (410).
	ErrGone = errors.New("gone")
	// ErrConflict: the request does not fit the current state (409).
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the account may not do this, e.g. a spend cap (403).
	ErrForbidden = errors.New("forbidden")
)

// Error is a refusal the client should read: Kind (ErrNotFound, ErrGone,
// ErrConflict, ErrForbidden) picks the HTTP status and Detail is the
// sentence shown.
type Error struct {
	Kind   error
	Detail string
}

func (e *Error) Error() string { return e.Detail }

// Unwrap lets errors.Is match the Kind.
func (e *Error) Unwrap() error { return e.Kind }

// Errorf is a refusal of kind with the sentence format makes of args.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}
