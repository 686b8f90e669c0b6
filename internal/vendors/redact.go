package vendors

import (
	"cmp"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// AccountIdentifiers is implemented by adapters: the values they were
// configured with that name the operator's account at the vendor (project,
// tenant, organisation and client ids, keys). A vendor's words about a
// failure can carry them, and tenants read those words (Redact).
type AccountIdentifiers interface {
	AccountIdentifiers() []string
}

// Redacted stands where something a tenant may not read was.
const Redacted = "<redacted>"

// minIdentifier is the shortest configured identifier Redact looks for:
// shorter values would be found inside ordinary words.
const minIdentifier = 4

// identifierPatterns find what names an account in any vendor's text,
// whatever the adapter was configured with.
var identifierPatterns = []struct {
	re *regexp.Regexp
	// repl is what a match becomes ($1 expands).
	repl string
	// token marks a pattern that matches ordinary words too: only a
	// match that is tokenLike becomes Redacted.
	token bool
}{
	// Amazon resource names: arn:aws:iam::123456789012:role/ops.
	{re: regexp.MustCompile(`\barn:[A-Za-z0-9-]+:[^\s"'<>,;()]*`), repl: Redacted},
	{re: regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+`), repl: Redacted},
	// Resource names as paths (projects/ops-prod-123): the kind stays.
	{re: regexp.MustCompile(`(?i)\b((?:projects|organi[sz]ations|folders|tenants|accounts|billingAccounts|subscriptions|` +
		`resourceGroups|users|serviceAccounts|service-accounts)/)[^\s/"'<>,;()]+`), repl: "${1}" + Redacted},
	{re: regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`), repl: Redacted},
	// Host names inside a network, and private IPv4 addresses.
	{re: regexp.MustCompile(`(?i)\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:internal|local|localdomain|lan|corp|intranet|intra|private|home\.arpa)\b`), repl: Redacted},
	{re: regexp.MustCompile(`\b(?:10\.\d{1,3}|172\.(?:1[6-9]|2\d|3[01])|192\.168)\.\d{1,3}\.\d{1,3}\b`), repl: Redacted},
	{re: regexp.MustCompile(`(?i)\b[0-9a-f]{20,}\b`), repl: Redacted},
	// Keys and tokens: long runs of base64 (or base64url) characters.
	{re: regexp.MustCompile(`[A-Za-z0-9+/_-]{24,}={0,2}`), token: true},
}

// tokenLike reports whether a long run of base64 characters is a token
// rather than words joined by hyphens: tokens mix in digits.
func tokenLike(s string) bool {
	digits, letters := 0, 0
	for _, c := range s {
		switch {
		case '0' <= c && c <= '9':
			digits++
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			letters++
		}
	}
	return digits >= 4 && letters >= 4
}

// Redact is a vendor's text (an error's message, what it says of an
// instance) as a tenant may read it: the identifiers v was configured with
// (AccountIdentifiers), and whatever looks like an account's identifier
// (UUIDs, e-mail addresses, ARNs, projects/… paths, internal host names and
// private addresses, long hex or base64 tokens), are replaced by Redacted.
// The values of keep, the tenant's own (its resource, offer and instance
// ids), stay.
func Redact(v Vendor, text string, keep ...string) string {
	// The tenant's own values are set aside under markers no pattern
	// matches (NUL cannot be in the text: it is taken out first), and put
	// back at the end.
	text = strings.ReplaceAll(text, "\x00", "")
	keep = slices.DeleteFunc(slices.Clone(keep), func(k string) bool { return k == "" })
	slices.SortFunc(keep, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for i, k := range keep {
		text = strings.ReplaceAll(text, k, marker(i))
	}
	if ids, ok := v.(AccountIdentifiers); ok {
		text = redactValues(text, ids.AccountIdentifiers())
	}
	for _, p := range identifierPatterns {
		if !p.token {
			text = p.re.ReplaceAllString(text, p.repl)
			continue
		}
		text = p.re.ReplaceAllStringFunc(text, func(m string) string {
			if tokenLike(m) {
				return Redacted
			}
			return m
		})
	}
	for i, k := range keep {
		text = strings.ReplaceAll(text, marker(i), k)
	}
	return text
}

// marker stands for the i-th value Redact keeps.
func marker(i int) string { return "\x00" + strconv.Itoa(i) + "\x00" }

// redactValues replaces every value in text, in any case, longest first
// (so that a value inside another goes with it).
func redactValues(text string, values []string) string {
	var quoted []string
	for _, v := range values {
		if len(v) >= minIdentifier {
			quoted = append(quoted, regexp.QuoteMeta(v))
		}
	}
	if len(quoted) == 0 {
		return text
	}
	slices.SortFunc(quoted, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return regexp.MustCompile(`(?i)`+strings.Join(quoted, "|")).ReplaceAllLiteralString(text, Redacted)
}

// TenantReason is what a tenant reads of a failed call to v: the kind of
// failure in words (Reason) and the vendor's own message, Redacted, keeping
// the tenant's own values keep. The error itself, whole, is for the
// operator's log.
func TenantReason(v Vendor, err error, keep ...string) string {
	msg := err.Error()
	var e *Error
	if errors.As(err, &e) {
		msg = e.Message
	}
	reason := Reason(err)
	if msg = Redact(v, msg, keep...); msg != "" {
		reason += ": " + msg
	}
	return reason
}
