package vendors_test

import (
	"errors"
	"testing"

	"github.com/gpusupply/supply/internal/vendors"
)

// configured is a vendor configured with ids; nothing else of it is used.
type configured struct {
	vendors.Vendor
	ids []string
}

func (c configured) AccountIdentifiers() []string { return c.ids }

func TestRedact(t *testing.T) {
	const ours = "21807b5e-30eb-4c3b-95e6-d331662c8fe2"
	v := configured{ids: []string{"ops-prod-4711", "sandbox", "abc", ""}}
	for _, c := range []struct {
		name, in, want string
	}{
		{"plain words stay", "Not enough capacity for gpu_1x_h100_sxm5 in us-east-1 (retry later)",
			"Not enough capacity for gpu_1x_h100_sxm5 in us-east-1 (retry later)"},
		{"configured id", "project ops-prod-4711 has exceeded its quota", "project <redacted> has exceeded its quota"},
		{"configured id, any case", "Project OPS-PROD-4711: over quota", "Project <redacted>: over quota"},
		{"configured id inside a word", "client sandbox-client refused", "client <redacted>-client refused"},
		{"too short to look for", "abc is not a valid region", "abc is not a valid region"},
		{"e-mail", "contact billing@operator.example.com to raise it", "contact <redacted> to raise it"},
		{"ARN", "arn:aws:iam::123456789012:role/gpu-ops is not authorized", "<redacted> is not authorized"},
		{"path", "projects/acme-ml/zones/fr-par-1 is full", "projects/<redacted>/zones/fr-par-1 is full"},
		{"path, other kinds", "tenants/t-77 and organizations/9 and serviceAccounts/ops",
			"tenants/<redacted> and organizations/<redacted> and serviceAccounts/<redacted>"},
		{"someone's UUID", "volume 3f0c9a52-8f7e-4a59-b1b2-6d1f0c1e2a3b is busy", "volume <redacted> is busy"},
		{"our UUID stays", "server supply-" + ours + " conflicts with 3F0C9A52-8F7E-4A59-B1B2-6D1F0C1E2A3B",
			"server supply-" + ours + " conflicts with <redacted>"},
		{"internal host", "could not reach api-gw.ops.internal:8443", "could not reach <redacted>:8443"},
		{"private address", "dial tcp 10.20.30.40:443 and 192.168.1.9 and 172.16.0.1", "dial tcp <redacted>:443 and <redacted> and <redacted>"},
		{"public address stays", "host 203.0.113.9 is unreachable", "host 203.0.113.9 is unreachable"},
		{"hex token", "request a1b2c3d4e5f60718293a4b5c failed", "request <redacted> failed"},
		{"key", "key rpa_4eC39HqLyjWDarjtT1zdp7dcQ9 is invalid", "key <redacted> is invalid"},
		{"hyphenated words stay", "insufficient-capacity-for-the-requested-flavor-n3", "insufficient-capacity-for-the-requested-flavor-n3"},
		{"NUL", "a\x00b", "ab"},
		{"empty", "", ""},
	} {
		if got := vendors.Redact(v, c.in, ours); got != c.want {
			t.Errorf("%s: Redact(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
	// A vendor that names no identifiers still has the patterns applied.
	if got := vendors.Redact(nil, "ops-prod-4711 of ops@example.com"); got != "ops-prod-4711 of <redacted>" {
		t.Errorf("Redact without identifiers = %q", got)
	}
}

func TestTenantReason(t *testing.T) {
	v := configured{ids: []string{"tenant-e00abcdef"}}
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"vendor's message", &vendors.Error{Vendor: "nebius", Op: "create", Kind: vendors.ErrQuota, Message: "tenant-e00abcdef is over its GPU quota"},
			"quota exceeded: the vendor account's quota or balance does not allow this: <redacted> is over its GPU quota"},
		{"no message", &vendors.Error{Vendor: "nebius", Op: "create", Kind: vendors.ErrNoCapacity},
			"no capacity: the vendor has no stock for this type in this region right now"},
		{"not a vendor error", errors.New("dial tcp 10.0.0.5:443: connection refused"), "vendor error: dial tcp <redacted>:443: connection refused"},
	} {
		if got := vendors.TenantReason(v, c.err); got != c.want {
			t.Errorf("%s: TenantReason = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestKindName(t *testing.T) {
	for err, want := range map[error]string{
		&vendors.Error{Kind: vendors.ErrNoCapacity}: "no_capacity",
		&vendors.Error{Kind: vendors.ErrQuota}:      "quota",
		&vendors.Error{Kind: vendors.ErrAuth}:       "auth",
		&vendors.Error{Kind: vendors.ErrInvalid}:    "invalid",
		&vendors.Error{Kind: vendors.ErrTransient}:  "transient",
		errors.New("something else"):                "other",
	} {
		if got := vendors.KindName(err); got != want {
			t.Errorf("KindName(%v) = %q, want %q", err, got, want)
		}
	}
}
