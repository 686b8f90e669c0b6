// Package supplyapi is the Supply API on the wire: every request and
// response body, the values its fields take and the event types, as the
// server reads and writes them. The server's handlers and the Go client
// (package client) use these same types, so they cannot disagree on a
// field, and the OpenAPI document is made from them.
//
// It imports only the standard library and github.com/google/uuid, so that
// a program talking to the API gets the types without the server: nothing
// here reads a database or calls a vendor. A Go type is named as its
// OpenAPI component is (ProcureOfferRequest, OfferStatusResponse), except
// where the component's name says nothing outside the document: OfferResult
// is the component Result, Event is Message and DeliveryAttempt is
// AttemptInfo (the server's api package keeps that table).
package supplyapi
