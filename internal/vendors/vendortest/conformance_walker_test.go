package vendortest

import (
	"reflect"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// paging and pagedList stand for a vendor's list answer that embeds a
// struct of shared members.
type paging struct {
	Count int `json:"count"`
}

type pagedList struct {
	paging
	Items []string `json:"items"`
}

// TestEmbeddedStructReached: a struct embedded in a bound type has its
// fields checked as the outer type's, so completeness must count it as
// reached rather than ask for a binding of its own; and its fields are
// still checked.
func TestEmbeddedStructReached(t *testing.T) {
	schema := openapi3.NewObjectSchema().
		WithProperty("count", openapi3.NewIntegerSchema()).
		WithProperty("items", openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema()))
	typ := reflect.TypeFor[pagedList]()
	w := &walker{pkgPath: packageOf(typ), reached: map[string]bool{}, seen: map[seenKey]bool{}}
	if errs := w.conform("pagedList", typ, schema.NewRef()); len(errs) != 0 {
		t.Fatalf("conforming type reported: %v", errs)
	}
	if !w.reached["paging"] || !w.reached["pagedList"] {
		t.Errorf("reached %v, want paging and pagedList", w.reached)
	}

	renamed := openapi3.NewObjectSchema().
		WithProperty("total", openapi3.NewIntegerSchema()).
		WithProperty("items", openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema()))
	w = &walker{pkgPath: packageOf(typ), reached: map[string]bool{}, seen: map[seenKey]bool{}}
	errs := w.conform("pagedList", typ, renamed.NewRef())
	if len(errs) != 1 || errs[0].path != "pagedList.count" {
		t.Errorf("an embedded field the schema lacks: %v, want one mismatch at pagedList.count", errs)
	}
}

// TestTypeNames: messages name the package's types without their import
// path, named or not.
func TestTypeNames(t *testing.T) {
	for typ, want := range map[reflect.Type]string{
		reflect.TypeFor[pagedList]():           "pagedList",
		reflect.TypeFor[*pagedList]():          "pagedList",
		reflect.TypeFor[[]pagedList]():         "[]pagedList",
		reflect.TypeFor[map[string][]paging](): "map[string][]paging",
	} {
		if got := typeName(typ); got != want {
			t.Errorf("typeName(%v) = %q, want %q", typ, got, want)
		}
	}
}
