package api

import (
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"
)

// Huma's settings are process-wide variables, and huma words a schema's
// validation messages when it makes the schema, so they are set once, by
// configureHuma, before the API makes its first schema: New calls it first
// thing, and so does newBodyValidator, the other place schemas are made.

var humaConfigured sync.Once

// configureHuma makes huma answer as FastAPI does: its errors come out in
// FastAPI's shape (newError, newErrorWithContext), its validation messages
// are worded so that the pydantic error type each reports can be read back
// (humaMessages), and JSON keys are case-sensitive: "GPU_Type" is not
// "gpu_type". Later calls do nothing.
func configureHuma() {
	humaConfigured.Do(func() {
		for _, m := range humaMessages {
			*m.variable = m.format
		}
		huma.ValidateStrictCasing = true
		huma.NewError = newError
		huma.NewErrorWithContext = newErrorWithContext
	})
}

// humaMessage is one of huma's validation messages (a validation.Msg*
// variable) and the pydantic error type it reports.
type humaMessage struct {
	variable *string
	typ      string
	// format is the message in pydantic's words, with at most one verb
	// where huma formats in a bound, a field name or the allowed values.
	format string
}

// humaMessages are the validation messages the API answers in pydantic's
// terms; huma's other messages are value errors in huma's words. A format
// that fits another's messages comes after it: "greater than %v" fits
// "greater than or equal to 1".
var humaMessages = []humaMessage{
	{&validation.MsgExpectedRequiredProperty, "missing", "Field required: %s"},
	{&validation.MsgExpectedBoolean, "bool_type", "Input should be a valid boolean"},
	{&validation.MsgExpectedInteger, "int_type", "Input should be a valid integer"},
	{&validation.MsgExpectedNumber, "float_type", "Input should be a valid number"},
	{&validation.MsgExpectedString, "string_type", "Input should be a valid string"},
	{&validation.MsgExpectedArray, "list_type", "Input should be a valid list"},
	{&validation.MsgExpectedObject, "model_attributes_type", "Input should be a valid dictionary or object to extract fields from"},
	{&validation.MsgExpectedOneOf, "enum", "Input should be one of %s"},
	{&validation.MsgExpectedMinimumNumber, "greater_than_equal", "Input should be greater than or equal to %v"},
	{&validation.MsgExpectedExclusiveMinimumNumber, "greater_than", "Input should be greater than %v"},
	{&validation.MsgExpectedMaximumNumber, "less_than_equal", "Input should be less than or equal to %v"},
	{&validation.MsgExpectedExclusiveMaximumNumber, "less_than", "Input should be less than %v"},
	{&validation.MsgExpectedMinLength, "string_too_short", "String should have at least %d characters"},
	{&validation.MsgExpectedMaxLength, "string_too_long", "String should have at most %d characters"},
	{&validation.MsgExpectedRFC4122UUID, "uuid_parsing", "Input should be a valid UUID, %v"},
}

// finding is a validation error as pydantic would type it: its error type,
// what huma formatted into its message (arg), and the message.
type finding struct{ typ, arg, msg string }

// readMessage reads a validation message huma made from one of
// humaMessages: the first whose format fits it.
func readMessage(msg string) (finding, bool) {
	for _, m := range humaMessages {
		prefix, suffix, hasVerb := cutVerb(m.format)
		if hasVerb && len(msg) >= len(prefix)+len(suffix) && strings.HasPrefix(msg, prefix) && strings.HasSuffix(msg, suffix) ||
			!hasVerb && msg == m.format {
			return finding{typ: m.typ, arg: msg[len(prefix) : len(msg)-len(suffix)], msg: msg}, true
		}
	}
	return finding{}, false
}

// cutVerb splits a format around its verb ("%s", "%v", "%d"), if it has one.
func cutVerb(format string) (prefix, suffix string, ok bool) {
	i := strings.IndexByte(format, '%')
	if i < 0 || i+2 > len(format) {
		return format, "", false
	}
	return format[:i], format[i+2:], true
}
