package offers

import "errors"

// ErrNotFound: no offer with that id exists for the caller's account.
var ErrNotFound = errors.New("offer not found")

// QueryError is a query that is well-formed but asks for something that
// does not exist (an unknown GPU type). The API answers it as a 422 at
// Loc, like any other validation failure.
type QueryError struct {
	// Loc is the path of the offending field, e.g. ["body","compute","gpu_type"].
	Loc []any
	// Type is the pydantic-style error type ("value_error").
	Type  string
	Msg   string
	Input any
}

func (e *QueryError) Error() string { return e.Msg }
