package roles

import "testing"

func TestIncludes(t *testing.T) {
	for _, c := range []struct {
		have, need Role
		want       bool
	}{
		{Viewer, Viewer, true}, {Viewer, Member, false}, {Member, Viewer, true}, {Member, Admin, false},
		{Admin, Member, true}, {Admin, Operator, false}, {Operator, Admin, true}, {"", Viewer, false}, {Admin, "", false},
		{"owner", Viewer, false},
	} {
		if got := c.have.Includes(c.need); got != c.want {
			t.Errorf("%q.Includes(%q) = %v, want %v", c.have, c.need, got, c.want)
		}
	}
	if _, err := Parse("operator"); err == nil {
		t.Error("Parse(operator) succeeded: no key has that role")
	}
	if r, err := Parse("member"); r != Member || err != nil {
		t.Errorf("Parse(member) = %q, %v", r, err)
	}
}
