package provision

import (
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/store"
)

// Errors the API maps to statuses. Each is wrapped with a sentence the
// client reads as the response's detail.
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

// ResourceFilter narrows GET /resources.
type ResourceFilter struct {
	OfferID *uuid.UUID
	Status  string
	// Limit, when above 0, pages the list: at most Limit resources,
	// those after After (see store.Queries.ListResources).
	Limit int
	After store.ResourceCursor
}

// Error is a refusal the client should read: Kind (ErrNotFound, ErrGone,
// ErrConflict) picks the HTTP status and Detail is the sentence shown.
type Error struct {
	Kind   error
	Detail string
}

func (e *Error) Error() string { return e.Detail }

// Unwrap lets errors.Is match the Kind.
func (e *Error) Unwrap() error { return e.Kind }

func refuse(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}
