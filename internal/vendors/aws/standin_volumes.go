package aws

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// The stand-in's EBS volumes and availability zones, as EC2's model
// (CreateVolume, DescribeVolumes, AttachVolume, DeleteVolume,
// DescribeAvailabilityZones) and its documentation have them: a volume
// lives in one zone of its region and attaches only to an instance
// there, is "creating" for a moment, then "available", "in-use" while
// attached (its attachment "attaching", then "attached"), and is detached
// when its instance terminates; a volume in use cannot be deleted
// (VolumeInUse). Every instance's root volume is listed as well, with the
// tags its launch gave it, and goes with the instance. A volume's bytes
// are a directory of the sandbox's hosts (standin.Hosts.VolumeDir), which
// the instance it is attached to shows at vendors.MountPath of its Name
// when its user data waits for the volume's NVMe device, as the adapter's
// cloud-init does.

// volumeRecord is one EBS volume as the stand-in keeps it.
type volumeRecord struct {
	ID          string    `json:"id"`
	Region      string    `json:"region"`
	Zone        string    `json:"zone"`
	SizeGB      int       `json:"size_gb"`
	Type        string    `json:"type"`
	Tags        []xmlTag  `json:"tags"`
	ClientToken string    `json:"client_token,omitempty"`
	Params      string    `json:"params"`
	CreatedAt   time.Time `json:"created_at"`
	// Instance, Device and AttachedAt are its attachment, if any.
	Instance   string    `json:"instance,omitempty"`
	Device     string    `json:"device,omitempty"`
	AttachedAt time.Time `json:"attached_at,omitzero"`
}

// gp3Sizes are the sizes CreateVolume takes for gp3, in GiB (the
// VolumeSize documentation: 1 to 16,384), and its baseline performance.
const (
	gp3MinGB, gp3MaxGB       = 1, 16384
	gp3IOPS, gp3ThroughputMB = 3000, 125
)

// volumeKey names a volume's directory among the sandbox's volumes.
func volumeKey(id string) string { return Name + "/" + id }

// rootVolumeID is the id of an instance's root volume.
func rootVolumeID(rec *record) string { return "vol-" + strings.TrimPrefix(rec.ID, "i-") }

// zoneID is a zone id of the shape EC2 gives ("use1-az1"): the region
// abbreviated, and the zone's place in it.
func zoneID(region, zone string) string {
	parts := strings.SplitN(seedRegionOf(region), "-", 3)
	if len(parts) < 3 {
		return region + "-az0"
	}
	return fmt.Sprintf("%s%s%s-az%d", parts[0], parts[1][:1], parts[2], strings.Index("abcdefghij", strings.TrimPrefix(zone, region))+1)
}

func (s *StandIn) describeAvailabilityZones(w http.ResponseWriter, form url.Values, region string) {
	f := filters(form)
	if !knownFilters(w, f, "zone-type", "region-name", "state", "zone-name", "zone-id") {
		return
	}
	names := members(form, "ZoneName")
	var out []xmlZone
	for _, z := range s.region(region).zones {
		name := region + z
		zone := xmlZone{ZoneName: name, ZoneID: zoneID(region, name), RegionName: region, State: "available", OptInStatus: "opt-in-not-required",
			ZoneType: "availability-zone", GroupName: region, NetworkBorderGroup: region}
		fields := map[string]string{"zone-type": zone.ZoneType, "region-name": region, "state": zone.State, "zone-name": name, "zone-id": zone.ZoneID}
		if (len(names) > 0 && !slices.Contains(names, name)) || slices.ContainsFunc(slices.Collect(maps.Keys(f)), func(k string) bool { return !matchAny(f[k], fields[k]) }) {
			continue
		}
		out = append(out, zone)
	}
	writeXML(w, "DescribeAvailabilityZones", xmlZones{RequestID: newRequestID(), Zones: items[xmlZone]{out}})
}

// volumeStatus is a volume's state now: creating for half a boot time,
// then available or in use.
func (s *StandIn) volumeStatus(v *volumeRecord, now time.Time) string {
	switch {
	case now.Before(v.CreatedAt.Add(s.halfBoot())):
		return "creating"
	case v.Instance != "":
		return "in-use"
	}
	return "available"
}

// renderVolume is a volume as DescribeVolumes shows it.
func (s *StandIn) renderVolume(v *volumeRecord, now time.Time) xmlVolume {
	out := xmlVolume{VolumeID: v.ID, Size: v.SizeGB, AvailabilityZone: v.Zone, AvailabilityZoneID: zoneID(v.Region, v.Zone),
		Status: s.volumeStatus(v, now), CreateTime: v.CreatedAt.UTC().Truncate(time.Millisecond), Tags: items[xmlTag]{v.Tags},
		VolumeType: v.Type, IOPS: gp3IOPS, Throughput: gp3ThroughputMB}
	if v.Instance != "" {
		out.Attachments.Items = []xmlVolumeAttachment{s.renderAttachment(v, now)}
	}
	return out
}

// renderAttachment is a volume's attachment: attaching for half a boot
// time, then attached.
func (s *StandIn) renderAttachment(v *volumeRecord, now time.Time) xmlVolumeAttachment {
	state := "attached"
	if now.Before(v.AttachedAt.Add(s.halfBoot())) {
		state = "attaching"
	}
	return xmlVolumeAttachment{VolumeID: v.ID, InstanceID: v.Instance, Device: v.Device, Status: state,
		AttachTime: v.AttachedAt.UTC().Truncate(time.Millisecond), DeleteOnTermination: v.ID == rootVolumeID(&record{ID: v.Instance})}
}

// rootVolume is the root volume of a live instance, as its launch
// described it: deleted on termination, attached from the launch.
func rootVolume(rec *record) *volumeRecord {
	return &volumeRecord{ID: rootVolumeID(rec), Region: rec.Region, Zone: rec.Zone, SizeGB: rec.RootGB, Type: "gp3", Tags: rec.RootTags,
		CreatedAt: rec.CreatedAt, Instance: rec.ID, Device: rec.RootDevice, AttachedAt: rec.CreatedAt}
}

func (s *StandIn) createVolume(w http.ResponseWriter, form url.Values, region string) {
	zone, kind, token := form.Get("AvailabilityZone"), cmp.Or(form.Get("VolumeType"), "gp2"), form.Get("ClientToken")
	size, err := strconv.Atoi(form.Get("Size"))
	switch {
	case zone == "" && form.Get("AvailabilityZoneId") == "":
		writeEC2Error(w, http.StatusBadRequest, "MissingParameter", "The request must contain the parameter AvailabilityZone")
		return
	case !strings.HasPrefix(zone, region) || !slices.Contains(s.region(region).zones, strings.TrimPrefix(zone, region)):
		writeEC2Error(w, http.StatusBadRequest, "InvalidZone.NotFound", fmt.Sprintf("The zone '%s' does not exist.", zone))
		return
	case kind != "gp3":
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", "The stand-in makes gp3 volumes only, not "+kind)
		return
	case err != nil || size < gp3MinGB || size > gp3MaxGB:
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf("Volume of '%s' GiB is out of gp3's range, %d to %d.", form.Get("Size"), gp3MinGB, gp3MaxGB))
		return
	}
	s.locked(w, func(now time.Time) {
		for _, v := range s.State.Volumes {
			if token != "" && v.ClientToken == token && v.Region == region {
				if v.Params != launchParams(form) {
					writeEC2Error(w, http.StatusBadRequest, "IdempotentParameterMismatch",
						"Arguments on this idempotent request are inconsistent with arguments used in previous request(s).")
					return
				}
				writeXML(w, "CreateVolume", xmlCreatedVolume{RequestID: newRequestID(), xmlVolume: s.renderVolume(v, now)})
				return
			}
		}
		v := &volumeRecord{ID: "vol-0" + randomHex(8), Region: region, Zone: zone, SizeGB: size, Type: kind, Tags: specifiedTags(form, "volume"),
			ClientToken: token, Params: launchParams(form), CreatedAt: now}
		if _, err := s.Hosts.VolumeDir(volumeKey(v.ID)); err != nil {
			writeInternal(w, err)
			return
		}
		s.State.Volumes[v.ID] = v
		if !s.Saved(w) {
			return
		}
		writeXML(w, "CreateVolume", xmlCreatedVolume{RequestID: newRequestID(), xmlVolume: s.renderVolume(v, now)})
	})
}

func (s *StandIn) describeVolumes(w http.ResponseWriter, form url.Values, region string) {
	f := filters(form)
	if !knownFilters(w, f, "tag:", "tag-key", "status", "availability-zone", "attachment.instance-id", "volume-id") {
		return
	}
	ids := members(form, "VolumeId")
	// "This value can be between 5 and 500; if MaxResults is given a
	// value larger than 500, only 500 items are returned" (DescribeVolumes
	// documentation), and it cannot be given with volume ids.
	if size := form.Get("MaxResults"); size != "" {
		if n, err := strconv.Atoi(size); err != nil || n < 5 || len(ids) > 0 {
			writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", "MaxResults must be 5 or more, and cannot be given with VolumeId.")
			return
		}
	}
	s.locked(w, func(now time.Time) {
		all := map[string]*volumeRecord{}
		for _, v := range s.State.Volumes {
			if v.Region == region {
				all[v.ID] = v
			}
		}
		for _, rec := range s.State.Instances {
			if rec.Region == region && rec.RootGB > 0 && s.status(rec, now) != stateTerminated {
				all[rootVolumeID(rec)] = rootVolume(rec)
			}
		}
		for _, id := range ids {
			if all[id] == nil {
				writeEC2Error(w, http.StatusBadRequest, "InvalidVolume.NotFound", fmt.Sprintf("The volume '%s' does not exist.", id))
				return
			}
		}
		var out []xmlVolume
		for _, id := range slices.Sorted(maps.Keys(all)) {
			v := s.renderVolume(all[id], now)
			if (len(ids) == 0 || slices.Contains(ids, id)) && volumeMatches(v, f) {
				out = append(out, v)
			}
		}
		from, to, next := page(form, len(out), 500)
		writeXML(w, "DescribeVolumes", xmlVolumes{RequestID: newRequestID(), Volumes: items[xmlVolume]{out[from:to]}, NextToken: next})
	})
}

// volumeMatches says whether v passes DescribeVolumes' filters.
func volumeMatches(v xmlVolume, f map[string][]string) bool {
	instance := ""
	if len(v.Attachments.Items) > 0 {
		instance = v.Attachments.Items[0].InstanceID
	}
	for name, values := range f {
		var ok bool
		switch key, isTag := strings.CutPrefix(name, "tag:"); {
		case isTag:
			ok = slices.ContainsFunc(v.Tags.Items, func(t xmlTag) bool { return t.Key == key && matchAny(values, t.Value) })
		case name == "tag-key":
			ok = slices.ContainsFunc(v.Tags.Items, func(t xmlTag) bool { return matchAny(values, t.Key) })
		default:
			ok = matchAny(values, map[string]string{"status": v.Status, "availability-zone": v.AvailabilityZone,
				"attachment.instance-id": instance, "volume-id": v.VolumeID}[name])
		}
		if !ok {
			return false
		}
	}
	return true
}

func (s *StandIn) attachVolume(w http.ResponseWriter, form url.Values, region string) {
	id, iid, device := form.Get("VolumeId"), form.Get("InstanceId"), form.Get("Device")
	if id == "" || iid == "" || device == "" {
		writeEC2Error(w, http.StatusBadRequest, "MissingParameter", "The request must contain the parameters VolumeId, InstanceId and Device")
		return
	}
	s.locked(w, func(now time.Time) {
		v, rec := s.State.Volumes[id], s.State.Instances[iid]
		switch {
		case v == nil || v.Region != region:
			writeEC2Error(w, http.StatusBadRequest, "InvalidVolume.NotFound", fmt.Sprintf("The volume '%s' does not exist.", id))
			return
		case rec == nil || rec.Region != region:
			writeEC2Error(w, http.StatusBadRequest, "InvalidInstanceID.NotFound", fmt.Sprintf("The instance ID '%s' does not exist", iid))
			return
		case v.Instance != "":
			writeEC2Error(w, http.StatusBadRequest, "VolumeInUse", fmt.Sprintf("%s is already attached to an instance", id))
			return
		case s.volumeStatus(v, now) != "available":
			writeEC2Error(w, http.StatusBadRequest, "IncorrectState", fmt.Sprintf("The volume '%s' is not 'available'.", id))
			return
		case v.Zone != rec.Zone:
			writeEC2Error(w, http.StatusBadRequest, "InvalidVolume.ZoneMismatch", fmt.Sprintf(
				"The volume '%s' is not in the same availability zone as instance '%s'", id, iid))
			return
		}
		if st := s.status(rec, now); st != stateRunning && st != stateStopped {
			writeEC2Error(w, http.StatusBadRequest, "IncorrectInstanceState", fmt.Sprintf("Instance '%s' is not 'running' or 'stopped'.", iid))
			return
		}
		for _, x := range append(slices.Collect(maps.Values(s.State.Volumes)), rootVolume(rec)) {
			if x.Instance == iid && x.Device == device {
				writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf("Attachment point %s is already in use", device))
				return
			}
		}
		v.Instance, v.Device, v.AttachedAt = iid, device, now
		if s.Hosted(rec.ID) {
			// The device shows on the running machine at once.
			if _, _, err := s.OpenHost(rec.ID, rec.IP, rec.Port, s.machine(rec)); err != nil {
				writeInternal(w, err)
				return
			}
		}
		if !s.Saved(w) {
			return
		}
		a := s.renderAttachment(v, now)
		writeXML(w, "AttachVolume", xmlAttached{RequestID: newRequestID(), xmlVolumeAttachment: a})
	})
}

// deleteVolume deletes a volume no instance has, and its bytes.
func (s *StandIn) deleteVolume(w http.ResponseWriter, form url.Values, region string) {
	id := form.Get("VolumeId")
	s.locked(w, func(time.Time) {
		v := s.State.Volumes[id]
		switch {
		case v == nil || v.Region != region:
			writeEC2Error(w, http.StatusBadRequest, "InvalidVolume.NotFound", fmt.Sprintf("The volume '%s' does not exist.", id))
			return
		case v.Instance != "":
			writeEC2Error(w, http.StatusBadRequest, "VolumeInUse", fmt.Sprintf("Volume %s is currently attached to %s", id, v.Instance))
			return
		}
		if err := s.Hosts.RemoveVolume(volumeKey(v.ID)); err != nil {
			writeInternal(w, err)
			return
		}
		delete(s.State.Volumes, id)
		if !s.Saved(w) {
			return
		}
		writeXML(w, "DeleteVolume", xmlRequestOnly{RequestID: newRequestID()})
	})
}

// detachEnded detaches the volumes of instances that terminated or are
// gone, as EC2 does at termination. The caller holds s.Mu.
func (s *StandIn) detachEnded(now time.Time) bool {
	changed := false
	for _, v := range s.State.Volumes {
		if rec := s.State.Instances[v.Instance]; v.Instance != "" && (rec == nil || s.status(rec, now) == stateTerminated) {
			v.Instance, v.Device, v.AttachedAt = "", "", time.Time{}
			changed = true
		}
	}
	return changed
}

// mounts are the volumes attached to rec that its machine mounts: those
// whose NVMe device its user data waits for, at the mount path of their
// Name.
func (s *StandIn) mounts(rec *record) []standin.Mount {
	var out []standin.Mount
	for _, id := range slices.Sorted(maps.Keys(s.State.Volumes)) {
		v := s.State.Volumes[id]
		if v.Instance != rec.ID || !strings.Contains(rec.UserData, "nvme-Amazon_Elastic_Block_Store_"+strings.Replace(v.ID, "-", "", 1)) {
			continue
		}
		out = append(out, standin.Mount{Path: vendors.MountPath(tagOf(v.Tags, "Name")), Volume: volumeKey(v.ID)})
	}
	return out
}
