package nebius

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// publishedNumbers are the field and enum-value numbers of every message
// and enum in the trimmed protos, copied from Nebius's published protos
// in github.com/nebius/api, file@commit:
//
//	nebius/common/v1/metadata.proto@278fae8a991b106c8f94a6e2693cfbfbd086d2b7
//	nebius/common/v1/operation.proto@5e634b1cab4429a75000f7c2600c31c88caf133f
//	nebius/common/v1/operation_service.proto@0952915cc7ac7bbc288235d0862902c170bf7825
//	nebius/common/v1/error.proto@37384d813916aa191c903a4a2ca669ec5678289c
//	nebius/compute/v1/instance.proto@93a68912dc530030850ad7f724d80984a849c785
//	nebius/compute/v1/instance_service.proto@281b2a9ed3404e44e46539e94e5d932758eee25b
//	nebius/compute/v1/network_interface.proto@05205e25e62d68648afbcce331872cd84d64cf01
//	nebius/compute/v1/disk.proto@8559d80e3818347e7bc310417397132c47496afa
//	nebius/compute/v1/disk_service.proto@0952915cc7ac7bbc288235d0862902c170bf7825
//	nebius/compute/v1/platform.proto@8b0bb200e98e0ef6c9dc85e077066c1a45a741ae
//	nebius/compute/v1/platform_service.proto@0b636cf18700202b9143b5c0ceebae05b6cc5459
//	nebius/compute/v1/gpu_cluster.proto@080068a7b1b3c5295a60219080fce6d7cc7e0aa1
//	nebius/compute/v1/gpu_cluster_service.proto@0952915cc7ac7bbc288235d0862902c170bf7825
//	nebius/vpc/v1/subnet.proto@12dd5d622c372966e51dd1c7d339842b0bff9584
//	nebius/vpc/v1/subnet_service.proto@0e32ad93481d53bedc136fa6b18f4e07fa156e72
//	nebius/iam/v1/token_service.proto@053d9c6e3d8ae0c0603c55b092ee1bd27e290c1a
//	nebius/billing/v1alpha1/calculator.proto@b2d196d430787cf78c0d8f1304e3bc218ee30f1b
//	nebius/billing/v1alpha1/calculator_service.proto@7b1176e7a40d926863548d0c856ad98e0ec1ffaf
//	nebius/capacity/v1/resource_advice.proto@4f857bff2503181157fb8baf94a640095b9e3268
//	nebius/capacity/v1/resource_advice_service.proto@2c64c9d3b8ea519dc8a2bf0189c896c368298427
var publishedNumbers = map[string]int{
	"nebius.common.v1.ResourceMetadata.id": 1, "nebius.common.v1.ResourceMetadata.parent_id": 2,
	"nebius.common.v1.ResourceMetadata.name": 3, "nebius.common.v1.ResourceMetadata.resource_version": 4,
	"nebius.common.v1.ResourceMetadata.created_at": 5, "nebius.common.v1.ResourceMetadata.updated_at": 6,
	"nebius.common.v1.ResourceMetadata.labels":    7,
	"nebius.common.v1.GetByNameRequest.parent_id": 1, "nebius.common.v1.GetByNameRequest.name": 2,
	"nebius.common.v1.Operation.id": 1, "nebius.common.v1.Operation.description": 2, "nebius.common.v1.Operation.created_at": 3,
	"nebius.common.v1.Operation.created_by": 4, "nebius.common.v1.Operation.finished_at": 5,
	"nebius.common.v1.Operation.resource_id": 7, "nebius.common.v1.Operation.status": 10,
	"nebius.common.v1.GetOperationRequest.id": 1,
	"nebius.common.v1.ServiceError.service":   1, "nebius.common.v1.ServiceError.code": 2,
	"nebius.common.v1.ServiceError.bad_request": 100, "nebius.common.v1.ServiceError.resource_not_found": 111,
	"nebius.common.v1.ServiceError.too_many_requests": 140, "nebius.common.v1.ServiceError.quota_failure": 141,
	"nebius.common.v1.ServiceError.not_enough_resources": 142,
	"nebius.common.v1.BadRequest.violations":             1, "nebius.common.v1.BadRequest.Violation.field": 1,
	"nebius.common.v1.BadRequest.Violation.message": 2, "nebius.common.v1.ResourceNotFound.resource_id": 1,
	"nebius.common.v1.TooManyRequests.violation": 1, "nebius.common.v1.QuotaFailure.violations": 1,
	"nebius.common.v1.QuotaFailure.Violation.quota": 1, "nebius.common.v1.QuotaFailure.Violation.message": 2,
	"nebius.common.v1.QuotaFailure.Violation.limit": 3, "nebius.common.v1.QuotaFailure.Violation.requested": 4,
	"nebius.common.v1.NotEnoughResources.violations": 1, "nebius.common.v1.NotEnoughResources.Violation.resource_type": 1,
	"nebius.common.v1.NotEnoughResources.Violation.message": 2, "nebius.common.v1.NotEnoughResources.Violation.requested": 3,

	"nebius.compute.v1.Instance.metadata": 1, "nebius.compute.v1.Instance.spec": 2, "nebius.compute.v1.Instance.status": 3,
	"nebius.compute.v1.InstanceSpec.resources": 2, "nebius.compute.v1.InstanceSpec.gpu_cluster": 3,
	"nebius.compute.v1.InstanceSpec.network_interfaces": 4, "nebius.compute.v1.InstanceSpec.boot_disk": 5,
	"nebius.compute.v1.InstanceSpec.cloud_init_user_data": 8, "nebius.compute.v1.InstanceSpec.stopped": 13,
	"nebius.compute.v1.InstanceSpec.recovery_policy": 15, "nebius.compute.v1.InstanceSpec.preemptible": 19,
	"nebius.compute.v1.InstanceSpec.hostname":         20,
	"nebius.compute.v1.PreemptibleSpec.on_preemption": 1, "nebius.compute.v1.PreemptibleSpec.priority": 2,
	"nebius.compute.v1.PreemptibleSpec.PreemptionPolicy.UNSPECIFIED": 0, "nebius.compute.v1.PreemptibleSpec.PreemptionPolicy.STOP": 1,
	"nebius.compute.v1.ResourcesSpec.platform": 1, "nebius.compute.v1.ResourcesSpec.preset": 2,
	"nebius.compute.v1.InstanceGpuClusterSpec.id":    1,
	"nebius.compute.v1.AttachedDiskSpec.attach_mode": 1, "nebius.compute.v1.AttachedDiskSpec.existing_disk": 2,
	"nebius.compute.v1.AttachedDiskSpec.device_id":              3,
	"nebius.compute.v1.AttachedDiskSpec.AttachMode.UNSPECIFIED": 0, "nebius.compute.v1.AttachedDiskSpec.AttachMode.READ_ONLY": 1,
	"nebius.compute.v1.AttachedDiskSpec.AttachMode.READ_WRITE": 2,
	"nebius.compute.v1.ExistingDisk.id":                        1,
	"nebius.compute.v1.InstanceStatus.state":                   1, "nebius.compute.v1.InstanceStatus.network_interfaces": 2,
	"nebius.compute.v1.InstanceStatus.reconciling":               5,
	"nebius.compute.v1.InstanceStatus.InstanceState.UNSPECIFIED": 0, "nebius.compute.v1.InstanceStatus.InstanceState.CREATING": 1,
	"nebius.compute.v1.InstanceStatus.InstanceState.UPDATING": 2, "nebius.compute.v1.InstanceStatus.InstanceState.STARTING": 3,
	"nebius.compute.v1.InstanceStatus.InstanceState.RUNNING": 4, "nebius.compute.v1.InstanceStatus.InstanceState.STOPPING": 5,
	"nebius.compute.v1.InstanceStatus.InstanceState.STOPPED": 6, "nebius.compute.v1.InstanceStatus.InstanceState.DELETING": 7,
	"nebius.compute.v1.InstanceStatus.InstanceState.ERROR": 8,
	"nebius.compute.v1.InstanceRecoveryPolicy.RECOVER":     0, "nebius.compute.v1.InstanceRecoveryPolicy.FAIL": 1,
	"nebius.compute.v1.GetInstanceRequest.id": 1, "nebius.compute.v1.DeleteInstanceRequest.id": 1,
	"nebius.compute.v1.ListInstancesRequest.parent_id": 1, "nebius.compute.v1.ListInstancesRequest.page_size": 2,
	"nebius.compute.v1.ListInstancesRequest.page_token": 3,
	"nebius.compute.v1.ListInstancesResponse.items":     1, "nebius.compute.v1.ListInstancesResponse.next_page_token": 2,
	"nebius.compute.v1.CreateInstanceRequest.metadata": 1, "nebius.compute.v1.CreateInstanceRequest.spec": 2,
	"nebius.compute.v1.NetworkInterfaceSpec.subnet_id": 1, "nebius.compute.v1.NetworkInterfaceSpec.name": 2,
	"nebius.compute.v1.NetworkInterfaceSpec.ip_address": 3, "nebius.compute.v1.NetworkInterfaceSpec.public_ip_address": 4,
	"nebius.compute.v1.IPAddress.allocation_id":       1,
	"nebius.compute.v1.PublicIPAddress.allocation_id": 1, "nebius.compute.v1.PublicIPAddress.static": 3,
	"nebius.compute.v1.NetworkInterfaceStatus.index": 1, "nebius.compute.v1.NetworkInterfaceStatus.name": 2,
	"nebius.compute.v1.NetworkInterfaceStatus.ip_address": 3, "nebius.compute.v1.NetworkInterfaceStatus.public_ip_address": 4,
	"nebius.compute.v1.NetworkInterfaceStatus.mac_address": 7, "nebius.compute.v1.NetworkInterfaceStatus.fqdn": 9,
	"nebius.compute.v1.IPAddressStatus.address": 1, "nebius.compute.v1.IPAddressStatus.allocation_id": 2,
	"nebius.compute.v1.PublicIPAddressStatus.address": 1, "nebius.compute.v1.PublicIPAddressStatus.allocation_id": 2,
	"nebius.compute.v1.PublicIPAddressStatus.static": 3,
	"nebius.compute.v1.DiskSpec.size_bytes":          1, "nebius.compute.v1.DiskSpec.size_kibibytes": 2,
	"nebius.compute.v1.DiskSpec.size_mebibytes": 3, "nebius.compute.v1.DiskSpec.size_gibibytes": 4,
	"nebius.compute.v1.DiskSpec.block_size_bytes": 5, "nebius.compute.v1.DiskSpec.type": 6,
	"nebius.compute.v1.DiskSpec.source_image_id": 8, "nebius.compute.v1.DiskSpec.source_image_family": 10,
	"nebius.compute.v1.DiskSpec.DiskType.UNSPECIFIED": 0, "nebius.compute.v1.DiskSpec.DiskType.NETWORK_SSD": 1,
	"nebius.compute.v1.DiskSpec.DiskType.NETWORK_HDD": 2, "nebius.compute.v1.DiskSpec.DiskType.NETWORK_SSD_NON_REPLICATED": 3,
	"nebius.compute.v1.DiskSpec.DiskType.NETWORK_SSD_IO_M3": 4,
	"nebius.compute.v1.SourceImageFamily.image_family":      1, "nebius.compute.v1.SourceImageFamily.parent_id": 2,
	"nebius.compute.v1.CreateDiskRequest.metadata": 1, "nebius.compute.v1.CreateDiskRequest.spec": 2,
	"nebius.compute.v1.Platform.metadata": 1, "nebius.compute.v1.Platform.spec": 2, "nebius.compute.v1.Platform.status": 3,
	"nebius.compute.v1.PlatformSpec.presets": 1, "nebius.compute.v1.PlatformSpec.gpu_count_quota_type": 3,
	"nebius.compute.v1.PlatformSpec.human_readable_name": 4, "nebius.compute.v1.PlatformSpec.short_human_readable_name": 10,
	"nebius.compute.v1.PlatformSpec.gpu_memory_gigabytes": 12,
	"nebius.compute.v1.Preset.name":                       1, "nebius.compute.v1.Preset.resources": 2, "nebius.compute.v1.Preset.allow_gpu_clustering": 3,
	"nebius.compute.v1.PresetResources.vcpu_count": 1, "nebius.compute.v1.PresetResources.memory_gibibytes": 3,
	"nebius.compute.v1.PresetResources.gpu_count": 4, "nebius.compute.v1.PlatformStatus.allowed_for_preemptibles": 3,
	"nebius.compute.v1.ListPlatformsRequest.page_size": 1, "nebius.compute.v1.ListPlatformsRequest.page_token": 2,
	"nebius.compute.v1.ListPlatformsRequest.parent_id": 3,
	"nebius.compute.v1.ListPlatformsResponse.items":    1, "nebius.compute.v1.ListPlatformsResponse.next_page_token": 2,
	"nebius.compute.v1.GpuCluster.metadata": 1, "nebius.compute.v1.GpuCluster.spec": 2, "nebius.compute.v1.GpuCluster.status": 3,
	"nebius.compute.v1.GpuClusterSpec.infiniband_fabric": 1,
	"nebius.compute.v1.GpuClusterStatus.instances":       1, "nebius.compute.v1.GpuClusterStatus.reconciling": 2,
	"nebius.compute.v1.GetGpuClusterRequest.id": 1, "nebius.compute.v1.DeleteGpuClusterRequest.id": 1,
	"nebius.compute.v1.CreateGpuClusterRequest.metadata": 1, "nebius.compute.v1.CreateGpuClusterRequest.spec": 2,

	"nebius.vpc.v1.Subnet.metadata":              1,
	"nebius.vpc.v1.ListSubnetsRequest.parent_id": 1, "nebius.vpc.v1.ListSubnetsRequest.page_size": 2,
	"nebius.vpc.v1.ListSubnetsRequest.page_token": 3,
	"nebius.vpc.v1.ListSubnetsResponse.items":     1, "nebius.vpc.v1.ListSubnetsResponse.next_page_token": 2,

	"nebius.iam.v1.ExchangeTokenRequest.grant_type": 1, "nebius.iam.v1.ExchangeTokenRequest.requested_token_type": 2,
	"nebius.iam.v1.ExchangeTokenRequest.subject_token": 3, "nebius.iam.v1.ExchangeTokenRequest.subject_token_type": 4,
	"nebius.iam.v1.CreateTokenResponse.access_token": 1, "nebius.iam.v1.CreateTokenResponse.issued_token_type": 2,
	"nebius.iam.v1.CreateTokenResponse.token_type": 3, "nebius.iam.v1.CreateTokenResponse.expires_in": 4,

	"nebius.billing.v1alpha1.EstimateRequest.resource_spec": 1,
	"nebius.billing.v1alpha1.EstimateResponse.hourly_cost":  10, "nebius.billing.v1alpha1.EstimateResponse.monthly_cost": 20,
	"nebius.billing.v1alpha1.ResourceSpec.compute_instance_spec": 100, "nebius.billing.v1alpha1.ResourceSpec.compute_disk_spec": 102,
	"nebius.billing.v1alpha1.ResourceGroupCost.general": 10, "nebius.billing.v1alpha1.GeneralTotalCost.total": 1,
	"nebius.billing.v1alpha1.CostBreakdown.cost": 2, "nebius.billing.v1alpha1.CostBreakdown.cost_rounded": 3,

	"nebius.capacity.v1.ListResourceAdviceRequest.parent_id": 1, "nebius.capacity.v1.ListResourceAdviceRequest.page_size": 2,
	"nebius.capacity.v1.ListResourceAdviceRequest.page_token": 3,
	"nebius.capacity.v1.ListResourceAdviceResponse.items":     1, "nebius.capacity.v1.ListResourceAdviceResponse.next_page_token": 2,
	"nebius.capacity.v1.ResourceAdvice.metadata": 1, "nebius.capacity.v1.ResourceAdvice.spec": 2, "nebius.capacity.v1.ResourceAdvice.status": 3,
	"nebius.capacity.v1.ResourceAdviceSpec.region": 1, "nebius.capacity.v1.ResourceAdviceSpec.fabric": 2,
	"nebius.capacity.v1.ResourceAdviceSpec.compute_instance": 10,
	"nebius.capacity.v1.ComputeInstanceDetails.platform":     1, "nebius.capacity.v1.ComputeInstanceDetails.preset": 2,
	"nebius.capacity.v1.ComputeInstanceDetails.gpu_memory_gigabytes": 3,
	"nebius.capacity.v1.ComputeInstanceDetails.Preset.name":          1, "nebius.capacity.v1.ComputeInstanceDetails.Preset.resources": 2,
	"nebius.capacity.v1.ComputeInstanceDetails.Preset.Resources.vcpu_count":       1,
	"nebius.capacity.v1.ComputeInstanceDetails.Preset.Resources.memory_gibibytes": 2,
	"nebius.capacity.v1.ComputeInstanceDetails.Preset.Resources.gpu_count":        3,
	"nebius.capacity.v1.ResourceAdviceStatus.reserved":                            1, "nebius.capacity.v1.ResourceAdviceStatus.on_demand": 2,
	"nebius.capacity.v1.ResourceAdviceStatus.preemptible":             3,
	"nebius.capacity.v1.ResourceAdviceStatus.Availability.data_state": 1, "nebius.capacity.v1.ResourceAdviceStatus.Availability.available": 2,
	"nebius.capacity.v1.ResourceAdviceStatus.Availability.limit": 4, "nebius.capacity.v1.ResourceAdviceStatus.Availability.effective_at": 10,
	"nebius.capacity.v1.ResourceAdviceStatus.Availability.DataState.DATA_STATE_UNSPECIFIED": 0,
	"nebius.capacity.v1.ResourceAdviceStatus.Availability.DataState.DATA_STATE_FRESH":       1,
	"nebius.capacity.v1.ResourceAdviceStatus.Availability.DataState.DATA_STATE_STALE":       2,
	"nebius.capacity.v1.ResourceAdviceStatus.Availability.DataState.DATA_STATE_UNKNOWN":     10,
}

// unpublished are the numbers the stored published protos do not show:
// the managed boot disk came after the newest instance.proto above
// (which mentions ManagedDisk.name and ManagedDisk.spec in a comment);
// managed_disk = 4 is from the project's vendor notes, ManagedDisk's own
// numbers are assumed. Check them against nebius/api before production.
var unpublished = map[string]int{
	"nebius.compute.v1.AttachedDiskSpec.managed_disk": 4,
	"nebius.compute.v1.ManagedDisk.name":              1,
	"nebius.compute.v1.ManagedDisk.spec":              2,
}

// publishedMethods are the RPCs supply calls, from the *_service.proto
// files above and token_exchange_service.proto@d478ba03bfc1bc2c6e44a0f753098ab31b2dfdb5.
var publishedMethods = []string{
	"/nebius.iam.v1.TokenExchangeService/Exchange",
	"/nebius.compute.v1.InstanceService/Get", "/nebius.compute.v1.InstanceService/GetByName",
	"/nebius.compute.v1.InstanceService/List", "/nebius.compute.v1.InstanceService/Create",
	"/nebius.compute.v1.InstanceService/Delete",
	"/nebius.compute.v1.PlatformService/List",
	"/nebius.compute.v1.GpuClusterService/Get", "/nebius.compute.v1.GpuClusterService/GetByName",
	"/nebius.compute.v1.GpuClusterService/Create", "/nebius.compute.v1.GpuClusterService/Delete",
	"/nebius.common.v1.OperationService/Get",
	"/nebius.vpc.v1.SubnetService/List",
	"/nebius.billing.v1alpha1.CalculatorService/Estimate",
	"/nebius.capacity.v1.ResourceAdviceService/List",
}

// TestFieldNumbersMatchPublishedProtos walks every message and enum of the
// trimmed protos: each field and value must carry the number Nebius
// published, and none may be missing from the table.
func TestFieldNumbersMatchPublishedProtos(t *testing.T) {
	seen := map[string]bool{}
	check := func(name string, got int) {
		seen[name] = true
		want, ok := publishedNumbers[name]
		if !ok {
			want, ok = unpublished[name]
		}
		switch {
		case !ok:
			t.Errorf("%s = %d is not in the table of published numbers", name, got)
		case got != want:
			t.Errorf("%s = %d, Nebius publishes %d", name, got, want)
		}
	}
	var enums func(protoreflect.EnumDescriptors)
	enums = func(es protoreflect.EnumDescriptors) {
		for i := range es.Len() {
			e := es.Get(i)
			for j := range e.Values().Len() {
				v := e.Values().Get(j)
				// Enum values are scoped beside their enum; the table names them under it.
				check(string(e.FullName())+"."+string(v.Name()), int(v.Number()))
			}
		}
	}
	var messages func(protoreflect.MessageDescriptors)
	messages = func(ms protoreflect.MessageDescriptors) {
		for i := range ms.Len() {
			m := ms.Get(i)
			if m.IsMapEntry() {
				continue
			}
			for j := range m.Fields().Len() {
				f := m.Fields().Get(j)
				check(string(f.FullName()), int(f.Number()))
			}
			enums(m.Enums())
			messages(m.Messages())
		}
	}
	files := 0
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if strings.HasPrefix(fd.Path(), "nebius/") {
			files++
			messages(fd.Messages())
			enums(fd.Enums())
		}
		return true
	})
	if files == 0 {
		t.Fatal("no nebius/ proto files registered")
	}
	for name := range publishedNumbers {
		if !seen[name] {
			t.Errorf("%s is in the table but not in the trimmed protos", name)
		}
	}
}

// TestMethodsArePublished checks that the services the adapter and the
// stand-in speak have exactly the method paths Nebius serves.
func TestMethodsArePublished(t *testing.T) {
	var ours []string
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(fd.Path(), "nebius/") {
			return true
		}
		for i := range fd.Services().Len() {
			s := fd.Services().Get(i)
			for j := range s.Methods().Len() {
				ours = append(ours, "/"+string(s.FullName())+"/"+string(s.Methods().Get(j).Name()))
			}
		}
		return true
	})
	for _, m := range ours {
		found := false
		for _, p := range publishedMethods {
			found = found || p == m
		}
		if !found {
			t.Errorf("method %s is not one Nebius publishes", m)
		}
	}
	if len(ours) != len(publishedMethods) {
		t.Errorf("trimmed protos have %d methods, the table %d", len(ours), len(publishedMethods))
	}
	for _, m := range []string{exchangeMethod, mCreate, mGet, mPlatform} {
		found := false
		for _, o := range ours {
			found = found || o == m
		}
		if !found {
			t.Errorf("%s is used but not defined", m)
		}
	}
}
