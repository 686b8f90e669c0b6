package nebius

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/parser"
	"github.com/bufbuild/protocompile/reporter"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/gpusupply/supply/internal/vendors"
	pb "github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb"
	"github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb/vpcpb"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
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
	for what, least := range map[string]int{"files": 21, "messages": 105, "fields": 270, "enum values": 45, "methods": 30} {
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

// TestEveryServiceErrorDetailClassified holds conn.go's table to the
// published ServiceError: each kind of detail Nebius publishes has a
// vendor error kind, and the table names nothing Nebius does not publish.
func TestEveryServiceErrorDetailClassified(t *testing.T) {
	d, err := publishedProtos(t).FindDescriptorByName("nebius.common.v1.ServiceError")
	if err != nil {
		t.Fatal(err)
	}
	details := d.(protoreflect.MessageDescriptor).Oneofs().ByName("details").Fields()
	for i := range details.Len() {
		if _, ok := serviceErrorKinds[details.Get(i).Name()]; !ok {
			t.Errorf("ServiceError detail %s has no vendor error kind", details.Get(i).Name())
		}
	}
	for name := range serviceErrorKinds {
		if details.ByName(name) == nil {
			t.Errorf("serviceErrorKinds names %s, which is not a published ServiceError detail", name)
		}
	}
}

// TestCreateBodyDecodesWithPublishedLayout encodes the InstanceService/Create
// body the adapter builds, with our generated types, and decodes the bytes
// with a message made from Nebius's published descriptor: every field
// must land where Nebius reads it, and nothing may be left over as an
// unknown field.
func TestCreateBodyDecodesWithPublishedLayout(t *testing.T) {
	d, err := publishedProtos(t).FindDescriptorByName("nebius.compute.v1.CreateInstanceRequest")
	if err != nil {
		t.Fatal(err)
	}
	published := d.(protoreflect.MessageDescriptor)
	const project, subnet, cluster, group = "project-e00published", "vpcsubnet-e00published", "computegpucluster-e00published", "vpcsecuritygroup-e00published"
	a := New(Config{Projects: map[string]string{"eu-north1": project}, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { a.Close() })
	volume := vendors.Volume{ID: "computedisk-e00published", Name: vendors.InstanceName(uuid.NewString())}
	for _, tt := range []struct {
		name     string
		contract vendors.Contract
		cluster  string
		volumes  []vendors.Volume
		group    string
	}{
		{"on demand", vendors.OnDemand, "", nil, ""},
		{"spot in a GPU cluster with a volume and open ports", vendors.Spot, cluster, []vendors.Volume{volume}, group},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := vendors.CreateRequest{ResourceID: uuid.NewString(), InstanceType: "gpu-h100-sxm:8gpu-128vcpu-1600gb",
				Region: "eu-north1", Contract: tt.contract, SSHPublicKey: vendortest.PublicKey(t), UserData: "#!/bin/sh\necho hi\n",
				Volumes: tt.volumes}
			l, err := a.plan(req)
			if err != nil {
				t.Fatal(err)
			}
			wire, err := proto.Marshal(instanceRequest(req, l, subnet, tt.group, tt.cluster))
			if err != nil {
				t.Fatal(err)
			}
			body := dynamicpb.NewMessage(published)
			if err := proto.Unmarshal(wire, body); err != nil {
				t.Fatalf("the published layout cannot read our create body: %v", err)
			}
			for _, u := range unknownFields(body, "") {
				t.Errorf("%s: bytes the published layout does not know", u)
			}
			// On demand sends neither: no preemptible spec, and the default
			// recovery policy (RECOVER, the zero value).
			spot, recovery := "", ""
			if tt.contract == vendors.Spot {
				spot, recovery = "STOP", "FAIL"
			}
			// A volume is an existing disk, read-write, under a device id
			// the cloud-init mounts it by.
			disk, mode, device := "", "", ""
			if len(tt.volumes) > 0 {
				disk, mode, device = volume.ID, "READ_WRITE", deviceID(0)
				if !strings.Contains(l.userData, "/dev/disk/by-id/virtio-"+device) || !strings.Contains(l.userData, vendors.MountPath(volume.Name)) {
					t.Errorf("the cloud-init does not mount the volume:\n%s", l.userData)
				}
			}
			want := map[string]string{
				"metadata.parent_id":                                                project,
				"metadata.name":                                                     vendors.InstanceName(req.ResourceID),
				"metadata.labels[" + vendors.Tag + "]":                              req.ResourceID,
				"spec.resources.platform":                                           "gpu-h100-sxm",
				"spec.resources.preset":                                             "8gpu-128vcpu-1600gb",
				"spec.boot_disk.attach_mode":                                        "READ_WRITE",
				"spec.boot_disk.managed_disk.name":                                  vendors.InstanceName(req.ResourceID) + "-boot",
				"spec.boot_disk.managed_disk.spec.size_gibibytes":                   "200",
				"spec.boot_disk.managed_disk.spec.type":                             "NETWORK_SSD",
				"spec.boot_disk.managed_disk.spec.source_image_family.image_family": DefaultImageFamily,
				"spec.network_interfaces[0].name":                                   "eth0",
				"spec.network_interfaces[0].subnet_id":                              subnet,
				"spec.network_interfaces[0].ip_address":                             "{}",
				"spec.network_interfaces[0].public_ip_address":                      "{}",
				"spec.cloud_init_user_data":                                         l.userData,
				"spec.preemptible.on_preemption":                                    spot,
				"spec.recovery_policy":                                              recovery,
				"spec.gpu_cluster.id":                                               tt.cluster,
				"spec.secondary_disks[0].existing_disk.id":                          disk,
				"spec.secondary_disks[0].attach_mode":                               mode,
				"spec.secondary_disks[0].device_id":                                 device,
				"spec.network_interfaces[0].security_groups[0].id":                  tt.group,
			}
			for path, w := range want {
				if got := valueAt(t, body, path); got != w {
					t.Errorf("%s = %q, want %q", path, got, w)
				}
			}
			if key, _ := normalisedKey(req.SSHPublicKey); !strings.Contains(valueAt(t, body, "spec.cloud_init_user_data"), key) {
				t.Error("the cloud-init does not carry the SSH key")
			}
		})
	}
}

// decodePublished encodes m with our generated types and decodes the
// bytes as Nebius's published message name: every field must land where
// Nebius reads it, and nothing may be left over as an unknown field.
func decodePublished(t *testing.T, published *protoregistry.Files, name protoreflect.FullName, m proto.Message) protoreflect.Message {
	t.Helper()
	d, err := published.FindDescriptorByName(name)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	body := dynamicpb.NewMessage(d.(protoreflect.MessageDescriptor))
	if err := proto.Unmarshal(wire, body); err != nil {
		t.Fatalf("the published %s cannot read ours: %v", name, err)
	}
	for _, u := range unknownFields(body, "") {
		t.Errorf("%s: bytes the published %s does not know", u, name)
	}
	return body
}

// TestVolumeWireMatchesPublishedLayout holds the volume calls to the
// published layout both ways: the DiskService/Create body the adapter
// builds decodes as Nebius reads it, and the stand-in's Disk answers
// (a volume attached to a VM, and that VM's managed boot disk) decode
// with their fields where Nebius puts them.
func TestVolumeWireMatchesPublishedLayout(t *testing.T) {
	published := publishedProtos(t)
	const project = "project-e00published"
	req := vendors.VolumeRequest{VolumeID: uuid.NewString(), Owner: "inst1", Region: "eu-north1", SizeGB: 50}
	body := decodePublished(t, published, "nebius.compute.v1.CreateDiskRequest", diskRequest(req, project))
	for path, w := range map[string]string{
		"metadata.parent_id":                        project,
		"metadata.name":                             vendors.InstanceName(req.VolumeID),
		"metadata.labels[" + vendors.Tag + "]":      req.VolumeID,
		"metadata.labels[" + vendors.OwnerTag + "]": req.Owner,
		"spec.size_gibibytes":                       "50",
		"spec.type":                                 "NETWORK_SSD",
	} {
		if got := valueAt(t, body, path); got != w {
			t.Errorf("create body %s = %q, want %q", path, got, w)
		}
	}

	f := newFixture(t, standin.Options{})
	ctx := context.Background()
	vol, err := f.a.CreateVolume(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	creq := createRequest(t, "eu-north1", "gpu-h100-sxm", "1gpu-16vcpu-200gb", vendors.OnDemand)
	creq.Volumes = []vendors.Volume{vol}
	in, err := f.a.Create(ctx, creq)
	if err != nil {
		t.Fatal(err)
	}
	disks, err := f.a.disks.List(ctx, &pb.ListDisksRequest{ParentId: f.si.Projects()["eu-north1"]})
	if err != nil || len(disks.GetItems()) != 2 {
		t.Fatalf("disks of the project: %v, %v; want the volume and the boot disk", disks, err)
	}
	for _, d := range disks.GetItems() {
		got := decodePublished(t, published, "nebius.compute.v1.Disk", d)
		want := map[string]string{
			"metadata.id":                  d.GetMetadata().GetId(),
			"status.state":                 "READY",
			"status.read_write_attachment": in.ID,
		}
		if d.GetMetadata().GetId() == vol.ID {
			want["metadata.labels["+vendors.Tag+"]"], want["status.managed_by"], want["spec.size_gibibytes"] = req.VolumeID, "", "50"
		} else {
			want["status.managed_by"], want["spec.size_gibibytes"] = in.ID, strconv.Itoa(BootDiskGiB)
		}
		for path, w := range want {
			if v := valueAt(t, got, path); v != w {
				t.Errorf("disk %s: %s = %q, want %q", d.GetMetadata().GetName(), path, v, w)
			}
		}
	}
}

// TestPortsWireMatchesPublishedLayout holds the open-ports calls to the
// published layout both ways: the security group and rule bodies the
// adapter builds decode as Nebius reads them (rules of at most 8 ports,
// which together open exactly the asked ports and SSH, and let
// everything out), and the stand-in's subnet, group and rule answers
// decode with their fields where Nebius puts them.
func TestPortsWireMatchesPublishedLayout(t *testing.T) {
	published := publishedProtos(t)
	const project, network = "project-e00published", "vpcnetwork-e00published"
	req := vendors.CreateRequest{ResourceID: uuid.NewString(), Owner: "inst1", Ports: []vendors.Port{
		{Number: 8888, Protocol: vendors.TCP}, {Number: 5353, Protocol: vendors.UDP}}}
	for p := 9000; p <= 9010; p++ {
		req.Ports = append(req.Ports, vendors.Port{Number: p, Protocol: vendors.TCP})
	}
	body := decodePublished(t, published, "nebius.vpc.v1.CreateSecurityGroupRequest", groupRequest(req, project, network))
	for path, w := range map[string]string{
		"metadata.parent_id":                   project,
		"metadata.name":                        vendors.FirewallName(req.Owner, req.ResourceID),
		"metadata.labels[" + vendors.Tag + "]": req.ResourceID,
		"spec.network_id":                      network,
	} {
		if got := valueAt(t, body, path); got != w {
			t.Errorf("group body %s = %q, want %q", path, got, w)
		}
	}
	opened := map[string]bool{}
	egress := 0
	for _, r := range securityRules(req.Ports) {
		rule := decodePublished(t, published, "nebius.vpc.v1.CreateSecurityRuleRequest",
			&vpcpb.CreateSecurityRuleRequest{Metadata: &pb.ResourceMetadata{ParentId: "vpcsecuritygroup-e00published", Name: r.name}, Spec: r.spec})
		if got := valueAt(t, rule, "spec.access"); got != "ALLOW" {
			t.Errorf("rule %s: access %q", r.name, got)
		}
		if valueAt(t, rule, "spec.egress") == "{}" {
			egress++
			if valueAt(t, rule, "spec.protocol") != "ANY" || valueAt(t, rule, "spec.egress.destination_ports[0]") != "" {
				t.Errorf("egress rule %s does not let everything out", r.name)
			}
			continue
		}
		ports := r.spec.GetIngress().GetDestinationPorts()
		if len(ports) == 0 || len(ports) > maxRulePorts || valueAt(t, rule, "spec.ingress.source_cidrs[0]") != "" {
			t.Errorf("ingress rule %s: ports %v, want 1 to %d from anywhere", r.name, ports, maxRulePorts)
		}
		for i := range ports {
			opened[valueAt(t, rule, "spec.ingress.destination_ports["+strconv.Itoa(i)+"]")+"/"+strings.ToLower(valueAt(t, rule, "spec.protocol"))] = true
		}
	}
	want := map[string]bool{vendors.SSH.String(): true}
	for _, p := range req.Ports {
		want[p.String()] = true
	}
	if fmt.Sprint(opened) != fmt.Sprint(want) || egress != 1 {
		t.Errorf("the rules open %v and %d egress rules, want %v and one", opened, egress, want)
	}

	f := newFixture(t, standin.Options{})
	ctx := context.Background()
	creq := createRequest(t, "eu-north1", "gpu-h100-sxm", "1gpu-16vcpu-200gb", vendors.OnDemand)
	creq.Ports = req.Ports
	if _, err := f.a.Create(ctx, creq); err != nil {
		t.Fatal(err)
	}
	projectID := f.si.Projects()["eu-north1"]
	subnets, err := f.a.subnets.List(ctx, &pb.ListSubnetsRequest{ParentId: projectID})
	if err != nil || len(subnets.GetItems()) != 1 {
		t.Fatalf("subnets: %v, %v", subnets, err)
	}
	sn := decodePublished(t, published, "nebius.vpc.v1.Subnet", subnets.GetItems()[0])
	groups, err := f.a.groups.List(ctx, &vpcpb.ListSecurityGroupsRequest{ParentId: projectID})
	if err != nil || len(groups.GetItems()) != 1 {
		t.Fatalf("security groups: %v, %v", groups, err)
	}
	g := decodePublished(t, published, "nebius.vpc.v1.SecurityGroup", groups.GetItems()[0])
	if valueAt(t, g, "spec.network_id") != valueAt(t, sn, "spec.network_id") || valueAt(t, g, "status.state") != "READY" ||
		valueAt(t, g, "metadata.name") != vendors.FirewallName(creq.Owner, creq.ResourceID) {
		t.Errorf("the group as answered: %v", groups.GetItems()[0])
	}
	rules, err := f.a.rules.List(ctx, &vpcpb.ListSecurityRulesRequest{ParentId: groups.GetItems()[0].GetMetadata().GetId()})
	if err != nil || len(rules.GetItems()) != len(securityRules(req.Ports)) {
		t.Fatalf("rules: %v, %v", rules, err)
	}
	for _, r := range rules.GetItems() {
		got := decodePublished(t, published, "nebius.vpc.v1.SecurityRule", r)
		if valueAt(t, got, "metadata.parent_id") != r.GetMetadata().GetParentId() || valueAt(t, got, "spec.access") != "ALLOW" {
			t.Errorf("rule as answered: %v", r)
		}
	}
}

// valueAt reads a field of a decoded message by a path of published
// field names ("spec.network_interfaces[0].name", "metadata.labels[k]"):
// scalars as text, enums by value name, a present message as "{}", an
// absent one or a missing list element as "".
func valueAt(t *testing.T, m protoreflect.Message, path string) string {
	t.Helper()
	name, rest, _ := strings.Cut(path, ".")
	name, index, indexed := strings.Cut(name, "[")
	index = strings.TrimSuffix(index, "]")
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil {
		t.Fatalf("the published %s has no field %s", m.Descriptor().FullName(), name)
	}
	if !m.Has(fd) {
		return ""
	}
	v := m.Get(fd)
	switch {
	case fd.IsMap():
		return v.Map().Get(protoreflect.ValueOfString(index).MapKey()).String()
	case fd.IsList():
		i, err := strconv.Atoi(index)
		if !indexed || err != nil {
			t.Fatalf("%s is a list: say which element", path)
		}
		if i >= v.List().Len() {
			return ""
		}
		v = v.List().Get(i)
	}
	switch {
	case fd.Kind() == protoreflect.MessageKind && rest == "":
		return "{}"
	case fd.Kind() == protoreflect.MessageKind:
		return valueAt(t, v.Message(), rest)
	case fd.Kind() == protoreflect.EnumKind:
		return string(fd.Enum().Values().ByNumber(v.Enum()).Name())
	}
	return v.String()
}

// unknownFields names every message in m holding bytes its descriptor
// does not describe.
func unknownFields(m protoreflect.Message, at string) []string {
	var out []string
	if len(m.GetUnknown()) > 0 {
		out = append(out, cmp.Or(at, "the body"))
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind {
			return true
		}
		switch {
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
					out = append(out, unknownFields(mv.Message(), fmt.Sprintf("%s%s[%s]", at, fd.Name(), k))...)
					return true
				})
			}
		case fd.IsList():
			for i := range v.List().Len() {
				out = append(out, unknownFields(v.List().Get(i).Message(), fmt.Sprintf("%s%s[%d].", at, fd.Name(), i))...)
			}
		default:
			out = append(out, unknownFields(v.Message(), at+string(fd.Name())+".")...)
		}
		return true
	})
	return out
}
