package nebius

import (
	"context"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gpusupply/supply/internal/vendors"
	pb "github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// diskRecord is a disk made through DiskService. Its bytes are a
// directory of the sandbox's hosts (standin.Hosts.VolumeDir), shown at
// vendors.MountPath(Name) on the VM it is attached to as a secondary disk.
type diskRecord struct {
	ID        string            `json:"id"`
	Project   string            `json:"project"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels"`
	Spec      string            `json:"spec"` // the DiskSpec as received, in protojson
	SizeGiB   int64             `json:"size_gib"`
	CreatedAt time.Time         `json:"created_at"`
}

// maxDeviceID is AttachedDiskSpec.device_id's published max_len.
const maxDeviceID = 20

// volumeKey names a disk's directory among the sandbox's volumes.
func volumeKey(id string) string { return Name + "/" + id }

// bootDiskID is the id of a VM's managed boot disk.
func bootDiskID(vm *vmRecord) string { return "computedisk-e00" + hash17(vm.ID) }

// findDisk finds a disk made through DiskService; the caller holds s.Mu.
func (s *StandIn) findDisk(id string) *diskRecord {
	for _, d := range s.State.Disks {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// owner is the VM that has disk id read-write now: the newest VM not
// gone that lists it among its secondary disks (an attach to another
// instance transfers ownership: DiskStatus.read_write_attachment). The
// caller holds s.Mu.
func (s *StandIn) owner(id string, now time.Time) *vmRecord {
	for _, vm := range slices.Backward(s.State.VMs) {
		if slices.Contains(vm.Disks, id) && s.phase(vm, now) != phaseGone {
			return vm
		}
	}
	return nil
}

// diskView renders a disk; the caller holds s.Mu.
func (s *StandIn) diskView(d *diskRecord, now time.Time) *pb.Disk {
	st := &pb.DiskStatus{State: pb.DiskStatus_READY, SizeBytes: d.SizeGiB << 30}
	if vm := s.owner(d.ID, now); vm != nil {
		st.ReadWriteAttachment = vm.ID
	}
	return &pb.Disk{
		Metadata: &pb.ResourceMetadata{Id: d.ID, ParentId: d.Project, Name: d.Name, ResourceVersion: 1,
			CreatedAt: timestamppb.New(d.CreatedAt), UpdatedAt: timestamppb.New(d.CreatedAt), Labels: d.Labels},
		Spec:   diskSpecOf(d.Spec),
		Status: st,
	}
}

// bootDiskView renders the managed boot disk of a VM not gone, which
// DiskService lists too (managed_by: the VM it goes with).
func bootDiskView(vm *vmRecord) *pb.Disk {
	md := vm.spec().GetBootDisk().GetManagedDisk()
	size := md.GetSpec().GetSizeGibibytes()
	return &pb.Disk{
		Metadata: &pb.ResourceMetadata{Id: bootDiskID(vm), ParentId: vm.Project, Name: md.GetName(), ResourceVersion: 1,
			CreatedAt: timestamppb.New(vm.CreatedAt), UpdatedAt: timestamppb.New(vm.CreatedAt)},
		Spec: md.GetSpec(),
		Status: &pb.DiskStatus{State: pb.DiskStatus_READY, SizeBytes: size << 30, ReadWriteAttachment: vm.ID,
			ManagedBy: vm.ID},
	}
}

func diskSpecOf(js string) *pb.DiskSpec {
	spec := &pb.DiskSpec{}
	_ = protojson.Unmarshal([]byte(js), spec) // written by Create from a valid message
	return spec
}

// disks are every disk of project, made or managed, in order; the
// caller holds s.Mu.
func (s *StandIn) disks(project string, now time.Time) []*pb.Disk {
	var out []*pb.Disk
	for _, d := range s.State.Disks {
		if d.Project == project {
			out = append(out, s.diskView(d, now))
		}
	}
	for _, vm := range s.State.VMs {
		if vm.Project == project && s.phase(vm, now) != phaseGone && vm.spec().GetBootDisk().GetManagedDisk() != nil {
			out = append(out, bootDiskView(vm))
		}
	}
	return out
}

// attach checks a new VM's secondary disks as Nebius would (each an
// existing disk of the VM's project, READ_WRITE, with a device_id of at
// most 20 characters, none twice, none that a VM not stopped has
// read-write) and returns their ids and where the VM mounts them; the
// caller holds s.Mu.
func (s *StandIn) attach(project string, disks []*pb.AttachedDiskSpec, now time.Time) ([]string, []standin.Mount, error) {
	var ids []string
	var mounts []standin.Mount
	for _, ad := range disks {
		id := ad.GetExistingDisk().GetId()
		switch {
		case ad.GetAttachMode() != pb.AttachedDiskSpec_READ_WRITE:
			return nil, nil, badRequest("spec.secondary_disks.attach_mode", "the stand-in attaches disks READ_WRITE only")
		case id == "":
			return nil, nil, badRequest("spec.secondary_disks", "existing_disk is required")
		case len(ad.GetDeviceId()) > maxDeviceID:
			return nil, nil, badRequest("spec.secondary_disks.device_id", "value length must be at most %d characters", maxDeviceID)
		case slices.Contains(ids, id):
			return nil, nil, badRequest("spec.secondary_disks", "disk %s is attached twice", id)
		}
		d := s.findDisk(id)
		if d == nil || d.Project != project {
			return nil, nil, notFound("compute", id)
		}
		if vm := s.owner(id, now); vm != nil && s.phase(vm, now) != phaseStopped {
			return nil, nil, status.Errorf(codes.FailedPrecondition, "disk %s is attached read-write to instance %s", id, vm.ID)
		}
		ids = append(ids, id)
		mounts = append(mounts, standin.Mount{Path: vendors.MountPath(d.Name), Volume: volumeKey(id)})
	}
	return ids, mounts, nil
}

type diskServer struct {
	pb.UnimplementedDiskServiceServer
	s *StandIn
}

func (ds diskServer) Get(_ context.Context, req *pb.GetDiskRequest) (*pb.Disk, error) {
	s := ds.s
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	if d := s.findDisk(req.GetId()); d != nil {
		return s.diskView(d, now), nil
	}
	for _, vm := range s.State.VMs {
		if bootDiskID(vm) == req.GetId() && s.phase(vm, now) != phaseGone {
			return bootDiskView(vm), nil
		}
	}
	return nil, notFound("compute", req.GetId())
}

func (ds diskServer) GetByName(_ context.Context, req *pb.GetByNameRequest) (*pb.Disk, error) {
	s := ds.s
	s.Mu.Lock()
	defer s.Mu.Unlock()
	for _, d := range s.disks(req.GetParentId(), s.Now()) {
		if d.GetMetadata().GetName() == req.GetName() {
			return d, nil
		}
	}
	return nil, notFound("compute", req.GetParentId()+"/"+req.GetName())
}

func (ds diskServer) List(_ context.Context, req *pb.ListDisksRequest) (*pb.ListDisksResponse, error) {
	s := ds.s
	if _, ok := s.regionOf(req.GetParentId()); !ok {
		return nil, notFound("iam", req.GetParentId())
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	all := s.disks(req.GetParentId(), s.Now())
	start, end, next, err := page(req.GetPageToken(), req.GetPageSize(), len(all))
	if err != nil {
		return nil, err
	}
	return &pb.ListDisksResponse{Items: all[start:end], NextPageToken: next}, nil
}

// Create makes an empty disk (DiskSpec: size and type required; "Additional
// disks can be created as an empty volume").
func (ds diskServer) Create(_ context.Context, req *pb.CreateDiskRequest) (*pb.Operation, error) {
	s := ds.s
	md, spec := req.GetMetadata(), req.GetSpec()
	if _, ok := s.regionOf(md.GetParentId()); !ok {
		return nil, notFound("iam", md.GetParentId())
	}
	switch {
	case md.GetName() == "":
		return nil, badRequest("metadata.name", "name is required")
	case spec.GetSizeGibibytes() <= 0:
		return nil, badRequest("spec.size", "size_gibibytes is required")
	case spec.GetType() == pb.DiskSpec_UNSPECIFIED:
		return nil, badRequest("spec.type", "type is required")
	case spec.GetSource() != nil:
		return nil, badRequest("spec.source", "the stand-in makes empty disks only")
	}
	body, err := protojson.Marshal(spec)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	for _, d := range s.disks(md.GetParentId(), now) {
		if d.GetMetadata().GetName() == md.GetName() {
			return nil, status.Errorf(codes.AlreadyExists, "disk %q already exists in %s", md.GetName(), md.GetParentId())
		}
	}
	d := &diskRecord{ID: s.newID("computedisk"), Project: md.GetParentId(), Name: md.GetName(), Labels: md.GetLabels(),
		Spec: string(body), SizeGiB: spec.GetSizeGibibytes(), CreatedAt: now.UTC()}
	if _, err := s.Hosts.VolumeDir(volumeKey(d.ID)); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	s.State.Disks = append(s.State.Disks, d)
	return s.operation(d.ID, "Create disk", false, nil, now)
}

// Delete deletes a disk no VM has. Nebius does not publish what it does
// with an attached one; the stand-in refuses it, as the disk is the
// VM's.
func (ds diskServer) Delete(_ context.Context, req *pb.DeleteDiskRequest) (*pb.Operation, error) {
	s := ds.s
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	d := s.findDisk(req.GetId())
	if d == nil {
		return nil, notFound("compute", req.GetId())
	}
	if vm := s.owner(d.ID, now); vm != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "disk %s is attached to instance %s", d.ID, vm.ID)
	}
	if err := s.Hosts.RemoveVolume(volumeKey(d.ID)); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	s.State.Disks = slices.DeleteFunc(s.State.Disks, func(x *diskRecord) bool { return x == d })
	return s.operation(d.ID, "Delete disk", true, nil, now)
}
