package client

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// Error is a refusal of the server: the HTTP status and the server's
// detail, which is a sentence, or for a 422 the list of fields it rejected.
type Error struct {
	// Status is the HTTP status, e.g. 404.
	Status int
	// Detail is the server's sentence; empty for a 422 with Validation.
	Detail string
	// Validation lists every rejected field of a 422.
	Validation []ValidationError
}

// ValidationError is one field the server rejected, in FastAPI's shape.
type ValidationError struct {
	// Type is the kind of error, e.g. "missing" or "greater_than".
	Type string `json:"type"`
	// Loc is where the field is, e.g. ["body", "compute", "gpu_type"].
	Loc []any `json:"loc"`
	// Msg says what is wrong, e.g. "Field required".
	Msg string `json:"msg"`
	// Input is the value that was rejected.
	Input any `json:"input,omitempty"`
}

// Field is Loc written as a path, e.g. body.compute.gpu_type.
func (v ValidationError) Field() string {
	parts := make([]string, len(v.Loc))
	for i, p := range v.Loc {
		parts[i] = fmt.Sprint(p)
	}
	return strings.Join(parts, ".")
}

// Error is one sentence: the server's detail, or every rejected field as
// "body.compute.gpu_type: Field required", joined by "; ".
func (e *Error) Error() string {
	if len(e.Validation) > 0 {
		fields := make([]string, len(e.Validation))
		for i, v := range e.Validation {
			fields[i] = v.Field() + ": " + v.Msg
		}
		return strings.Join(fields, "; ")
	}
	if e.Detail != "" {
		return e.Detail
	}
	return fmt.Sprintf("the server answered %d %s", e.Status, http.StatusText(e.Status))
}

// UnreachableError is a request that never got an answer: the server is
// down, the URL is wrong, or the network is in the way.
type UnreachableError struct {
	// URL is the server's base URL.
	URL string
	// Err is the transport's reason, e.g. "connection refused".
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("the supply server at %s is not reachable (%v)", e.URL, e.Err)
}

// Unwrap exposes the transport's error to errors.Is and errors.As.
func (e *UnreachableError) Unwrap() error { return e.Err }

// FailedError is a procurement that ended in failure, with the server's
// reason.
type FailedError struct {
	// OfferID is the offer whose procurement failed.
	OfferID uuid.UUID
	// Reason is the server's failure_reason.
	Reason string
}

func (e *FailedError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("procurement of offer %s failed", e.OfferID)
	}
	return fmt.Sprintf("procurement of offer %s failed: %s", e.OfferID, e.Reason)
}
