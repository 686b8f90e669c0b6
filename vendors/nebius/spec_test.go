package nebius

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/parser"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/gpusupply/supply/vendors/vendortest"
)

// publishedDir is where the shared vendor specs keep Nebius's published
// protos (github.com/nebius/api at the commit in its COMMIT file).
const publishedDir = "nebius/api"

// validateStandIn replaces buf/validate/validate.proto, a buf dependency
// of the published protos that is not stored with them. Its options are
// validation rules the server applies, not wire layout, so the published
// files are compiled with them dropped (see withoutValidateOptions) and
// the import only has to resolve.
const validateStandIn = `syntax = "proto3";
package buf.validate;
`

// publishedProtos compiles every .proto file Nebius publishes, as it
// publishes them, into descriptors to judge ours against.
func publishedProtos(t *testing.T) *protoregistry.Files {
	t.Helper()
	root := vendortest.SpecPath(t, publishedDir)
	var paths []string
	err := filepath.WalkDir(filepath.Join(root, "nebius"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".proto") {
			rel, _ := filepath.Rel(root, path)
			paths = append(paths, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(path string) (protocompile.SearchResult, error) {
		switch path {
		case "buf/validate/validate.proto":
			return protocompile.SearchResult{Source: strings.NewReader(validateStandIn)}, nil
		case "google/rpc/status.proto":
			// googleapis is not stored either; the registered google.rpc.Status
			// is the published one (the generated code uses it too).
			fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
			return protocompile.SearchResult{Desc: fd}, err
		}
		f, err := os.Open(filepath.Join(root, filepath.FromSlash(path)))
		if err != nil {
			return protocompile.SearchResult{}, err
		}
		defer f.Close()
		handler := reporter.NewHandler(nil)
		node, err := parser.Parse(path, f, handler)
		if err != nil {
			return protocompile.SearchResult{}, err
		}
		res, err := parser.ResultFromAST(node, true, handler)
		if err != nil {
			return protocompile.SearchResult{}, err
		}
		fdp := res.FileDescriptorProto()
		withoutValidateOptions(fdp.ProtoReflect())
		return protocompile.SearchResult{Proto: fdp}, nil
	}
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(protocompile.ResolverFunc(resolve))}
	linked, err := c.Compile(context.Background(), paths...)
	if err != nil {
		t.Fatalf("compile the published protos: %v", err)
	}
	files := &protoregistry.Files{}
	for _, f := range linked {
		if err := files.RegisterFile(f); err != nil {
			t.Fatal(err)
		}
	}
	if files.NumFiles() < 100 {
		t.Fatalf("only %d published files compiled", files.NumFiles())
	}
	return files
}

// withoutValidateOptions drops every not-yet-interpreted option named
// (buf.validate.…) from m and the messages inside it.
func withoutValidateOptions(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind || fd.IsMap() {
			return true
		}
		if !fd.IsList() {
			withoutValidateOptions(v.Message())
			return true
		}
		list := v.List()
		if fd.Name() == "uninterpreted_option" {
			n := 0
			for i := range list.Len() {
				opt := list.Get(i).Message().Interface().(*descriptorpb.UninterpretedOption)
				if len(opt.GetName()) > 0 && strings.HasPrefix(opt.GetName()[0].GetNamePart(), "buf.validate.") {
					continue
				}
				list.Set(n, list.Get(i))
				n++
			}
			list.Truncate(n)
			return true
		}
		for i := range list.Len() {
			withoutValidateOptions(list.Get(i).Message())
		}
		return true
	})
}

// TestProtosMatchPublished holds every message, field, enum, service and
// method of our trimmed protos to Nebius's published protos: a field
// must exist there under its name with the same number, type (and type
// name), cardinality, oneof and JSON name, and not be deprecated; an enum
// value must have the same number; a method the same input, output and
// streaming. Our protos may leave things out; what they keep must match.
func TestProtosMatchPublished(t *testing.T) {
	published := publishedProtos(t)
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	counts := map[string]int{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if strings.HasPrefix(fd.Path(), "nebius/") {
			counts["files"]++
			compareFile(fd, published, report, counts)
		}
		return true
	})
	for _, p := range problems {
		t.Error(p)
	}
	// Guard against comparing nothing: these are the trimmed protos' sizes.
	for what, least := range map[string]int{"files": 17, "messages": 69, "fields": 180, "enum values": 25, "methods": 15} {
		if counts[what] < least {
			t.Errorf("compared %d %s, want at least %d", counts[what], what, least)
		}
	}
	t.Logf("compared %v", counts)
}

// compareFile compares everything declared in one of our files.
func compareFile(fd protoreflect.FileDescriptor, published *protoregistry.Files, report func(string, ...any), counts map[string]int) {
	var messages func(protoreflect.MessageDescriptors)
	messages = func(ms protoreflect.MessageDescriptors) {
		for i := range ms.Len() {
			m := ms.Get(i)
			if m.IsMapEntry() {
				continue // compared with its map field
			}
			counts["messages"]++
			d, err := published.FindDescriptorByName(m.FullName())
			pm, ok := d.(protoreflect.MessageDescriptor)
			if err != nil || !ok {
				report("message %s: Nebius publishes no such message", m.FullName())
			} else {
				compareFields(m, pm, report, counts)
			}
			compareEnums(m.Enums(), published, report, counts)
			messages(m.Messages())
		}
	}
	messages(fd.Messages())
	compareEnums(fd.Enums(), published, report, counts)
	for i := range fd.Services().Len() {
		s := fd.Services().Get(i)
		d, err := published.FindDescriptorByName(s.FullName())
		ps, ok := d.(protoreflect.ServiceDescriptor)
		if err != nil || !ok {
			report("service %s: Nebius publishes no such service", s.FullName())
			continue
		}
		for j := range s.Methods().Len() {
			m := s.Methods().Get(j)
			counts["methods"]++
			pm := ps.Methods().ByName(m.Name())
			if pm == nil {
				report("method %s: not published", m.FullName())
				continue
			}
			if got, want := methodShape(m), methodShape(pm); got != want {
				report("method %s: ours %s, Nebius publishes %s", m.FullName(), got, want)
			}
		}
	}
}

func compareFields(m, pm protoreflect.MessageDescriptor, report func(string, ...any), counts map[string]int) {
	for i := range m.Fields().Len() {
		f := m.Fields().Get(i)
		counts["fields"]++
		pf := pm.Fields().ByName(f.Name())
		if pf == nil {
			if byNumber := pm.Fields().ByNumber(f.Number()); byNumber != nil {
				report("field %s = %d: not published; Nebius's field %d is %s", f.FullName(), f.Number(), f.Number(), byNumber.Name())
			} else {
				report("field %s = %d: not published", f.FullName(), f.Number())
			}
			continue
		}
		if got, want := fieldShape(f), fieldShape(pf); got != want {
			report("field %s: ours %s, Nebius publishes %s", f.FullName(), got, want)
		}
		if pf.Options().(*descriptorpb.FieldOptions).GetDeprecated() {
			report("field %s: Nebius deprecates it", f.FullName())
		}
	}
}

func compareEnums(es protoreflect.EnumDescriptors, published *protoregistry.Files, report func(string, ...any), counts map[string]int) {
	for i := range es.Len() {
		e := es.Get(i)
		d, err := published.FindDescriptorByName(e.FullName())
		pe, ok := d.(protoreflect.EnumDescriptor)
		if err != nil || !ok {
			report("enum %s: Nebius publishes no such enum", e.FullName())
			continue
		}
		for j := range e.Values().Len() {
			v := e.Values().Get(j)
			counts["enum values"]++
			pv := pe.Values().ByName(v.Name())
			switch {
			case pv == nil:
				report("enum value %s.%s = %d: not published", e.FullName(), v.Name(), v.Number())
			case pv.Number() != v.Number():
				report("enum value %s.%s = %d, Nebius publishes %d", e.FullName(), v.Name(), v.Number(), pv.Number())
			}
		}
	}
}

// fieldShape is everything about a field that the wire and JSON forms
// depend on, as one comparable string.
func fieldShape(f protoreflect.FieldDescriptor) string {
	oneof := ""
	if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
		oneof = " in oneof " + string(o.Name())
	}
	return fmt.Sprintf("%s = %d%s (json %q)", typeShape(f), f.Number(), oneof, f.JSONName())
}

func typeShape(f protoreflect.FieldDescriptor) string {
	switch {
	case f.IsMap():
		return fmt.Sprintf("map<%s, %s>", typeShape(f.MapKey()), typeShape(f.MapValue()))
	case f.IsList():
		return "repeated " + scalarOrNamed(f)
	case f.HasOptionalKeyword():
		return "optional " + scalarOrNamed(f)
	}
	return scalarOrNamed(f)
}

func scalarOrNamed(f protoreflect.FieldDescriptor) string {
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return string(f.Message().FullName())
	case protoreflect.EnumKind:
		return string(f.Enum().FullName())
	}
	return f.Kind().String()
}

func methodShape(m protoreflect.MethodDescriptor) string {
	stream := func(yes bool) string {
		if yes {
			return "stream "
		}
		return ""
	}
	return fmt.Sprintf("(%s%s) returns (%s%s)", stream(m.IsStreamingClient()), m.Input().FullName(),
		stream(m.IsStreamingServer()), m.Output().FullName())
}
