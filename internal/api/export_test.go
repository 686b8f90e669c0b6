package api

import "testing"

// NoVolumes is noVolumes for the tests outside the package.
type NoVolumes = noVolumes

// NewTestServer is a test API with every route (the event log on SQLite
// included) served on loopback, for the tests outside the package that
// add the console's routes to it: its handler, a valid key and its URL.
// mod may change the Config first.
func NewTestServer(t *testing.T, mod func(*Config)) (a *API, key, url string) {
	ts, _ := newEventsServerWith(t, mod)
	return ts.api, ts.key, ts.URL
}
