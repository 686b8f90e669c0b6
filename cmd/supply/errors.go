package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gpusupply/supply/client"
)

// Errors speak of what the user typed: the flags and arguments of the
// command, not the API's field paths or the libraries' words.

// explain rewords an error of a command that called the server: a refused
// API key says what to do about it, and a 422 names the flags the
// rejected fields came from. Other errors are one clear sentence already.
func (r *remote) explain(cmd *cobra.Command, err error) error {
	var e *client.Error
	if !errors.As(err, &e) {
		return err
	}
	switch {
	case e.Status == http.StatusUnauthorized && r.apiKey == "":
		return errors.New("no API key: set SUPPLY_API_KEY or pass --api-key (a new server writes its first key to supply-data/initial-api-key)")
	case e.Status == http.StatusUnauthorized:
		return fmt.Errorf("%w: the server at %s does not know this API key (SUPPLY_API_KEY or --api-key)", err, r.url)
	case len(e.Validation) > 0:
		parts := make([]string, len(e.Validation))
		for i, v := range e.Validation {
			parts[i] = fieldSentence(flagOf(cmd, v.Field()), v.Loc, v.Msg)
		}
		return errors.New(strings.Join(parts, "; "))
	}
	return err
}

// fieldFlags are the flags that request fields come from, by the field's
// path in the request body. A failover's query is the rent's own, so its
// fields come from the same flags.
var fieldFlags = map[string]string{
	"compute.gpu_type":               "--gpu",
	"compute.gpu_count":              "--count",
	"compute.max_price_per_gpu_hour": "--max-price",
	"compute.contract_type":          "--spot",
	"region":                         "--region",
	"vendor":                         "--vendor",
	"limit":                          "--limit",
	"ssh_public_key":                 "--ssh-key",
	"cloud_init":                     "--cloud-init",
	"resource_name":                  "--name",
	"auto_delete_after":              "--auto-delete",
	"fallback.until":                 "--until",
	"fallback.max_attempts":          "--max-attempts",
}

// flagOf names where the value of a rejected field came from: the
// command's annotation for the field (an argument, such as extend's
// DURATION), else its flag, else, for a query sent from a file or a field
// no flag sets, the field's path in the body.
func flagOf(cmd *cobra.Command, field string) string {
	path := strings.TrimPrefix(field, "body.")
	if name, ok := cmd.Annotations[path]; ok {
		return name
	}
	if f := cmd.Flags().Lookup("file"); f != nil && f.Changed {
		return path
	}
	if name, ok := fieldFlags[strings.TrimPrefix(path, "fallback.query.")]; ok && cmd.Flags().Lookup(strings.TrimPrefix(name, "--")) != nil {
		return name
	}
	return path
}

// fieldSentence is the message about the field at loc under the name the
// user knows it by: pydantic's "Value error, " goes, and a message that
// names the field ("Value error, ssh_public_key is not ...") names it so
// instead.
func fieldSentence(name string, loc []any, msg string) string {
	msg = strings.TrimPrefix(msg, "Value error, ")
	if len(loc) > 0 {
		if rest, ok := strings.CutPrefix(msg, fmt.Sprint(loc[len(loc)-1])+" "); ok {
			return name + " " + rest
		}
	}
	return name + ": " + msg
}

// usageArgs accepts exactly the arguments the command's Use names (none
// for "offers", RESOURCE_ID for "delete RESOURCE_ID") and says in words
// which are missing or one too many, with the command's first example.
func usageArgs(cmd *cobra.Command, args []string) error {
	names := strings.Fields(cmd.Use)[1:]
	// "delete", not "supply delete": the error is printed after "supply: ".
	what := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	example := strings.TrimSpace(strings.SplitN(cmd.Example, "\n", 2)[0])
	switch {
	case len(args) < len(names):
		return fmt.Errorf("%s needs %s: e.g. %s", what, strings.Join(names[len(args):], " and "), example)
	case len(args) > len(names) && len(names) == 0:
		return fmt.Errorf("%s takes no arguments, only flags, so %q is one too many: e.g. %s", what, args[0], example)
	case len(args) > len(names):
		return fmt.Errorf("%s takes %s and nothing more, so %q is one too many: e.g. %s",
			what, strings.Join(names, " and "), args[len(names)], example)
	}
	return nil
}

// commandGroup makes cmd a command that only holds others: run alone it
// shows its help, and a word that names none of its commands is an error
// in one line, with the commands it may have meant.
func commandGroup(cmd *cobra.Command) *cobra.Command {
	cmd.SuggestionsMinimumDistance = 2
	cmd.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		err := fmt.Sprintf("%q is not a %s command", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			err += ": did you mean " + strings.Join(s, " or ") + "?"
		}
		return fmt.Errorf("%s (%s --help lists them)", err, cmd.CommandPath())
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	return cmd
}

// flagValueError says what a flag wants instead of the parser's words
// (`invalid argument "lots" for "--count" flag: strconv.ParseInt: parsing
// "lots": invalid syntax`); name is how the user gave the flag: "--count"
// on the command line, "SUPPLY_COUNT" from the environment.
func flagValueError(err error, name func(flag string) string) error {
	var e *pflag.InvalidValueError
	if !errors.As(err, &e) {
		return err
	}
	want, ok := map[string]string{
		"int":         "a whole number",
		"float64":     "a number",
		"duration":    `a duration such as "90s", "30m" or "2h"`,
		"bool":        "true or false",
		"stringSlice": "a comma-separated list",
	}[e.GetFlag().Value.Type()]
	if !ok {
		return fmt.Errorf("%s: %w", name(e.GetFlag().Name), e.Unwrap())
	}
	return fmt.Errorf("%s wants %s, not %q", name(e.GetFlag().Name), want, e.GetValue())
}
