// Package roles says what an API key may do. Each key has one role; each
// API operation needs one (declared where it is registered), and a key
// whose role includes it may call it.
package roles

import "fmt"

// Role is what a key may do, or what an operation needs.
type Role string

// The roles, from least to most.
const (
	// Viewer reads: offers, resources, events, the account's usage.
	Viewer Role = "viewer"
	// Member also rents, changes and deletes the account's machines.
	Member Role = "member"
	// Admin may do everything in its account: keys and caps included.
	Admin Role = "admin"
	// Operator is no key's role: it is what an admin key of the
	// server's operator account has, and what creating accounts needs.
	Operator Role = "operator"
)

// rank orders the roles; a role includes those ranked at or below it.
var rank = map[Role]int{Viewer: 1, Member: 2, Admin: 3, Operator: 4}

// KeyRoles are the roles a key may be given, least first.
var KeyRoles = []Role{Viewer, Member, Admin}

// Parse reads a key's role.
func Parse(s string) (Role, error) {
	for _, r := range KeyRoles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("role %q: want admin, member or viewer", s)
}

// Includes reports whether r may do what need allows; an unknown role
// includes nothing and is included by nothing.
func (r Role) Includes(need Role) bool {
	have, want := rank[r], rank[need]
	return have > 0 && want > 0 && have >= want
}
