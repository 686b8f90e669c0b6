package runpod

import "time"

// The JSON shapes of RunPod's REST API v2 (api-reference-v2/openapi.json in
// the vendor specs), shared by the adapter and the stand-in so both speak
// the same wire format; the spec-validation test checks it against the
// published description.

// problem is ErrorResponse, the application/problem+json body of every
// error.
type problem struct {
	Title  string   `json:"title"`
	Status int      `json:"status"`
	Detail string   `json:"detail"`
	Errors []string `json:"errors,omitempty"`
}

// Availability levels (AvailabilityLevel); NONE means none can be placed.
const (
	availNone   = "NONE"
	availLow    = "LOW"
	availMedium = "MEDIUM"
	availHigh   = "HIGH"
)

// Clouds (Cloud): RunPod-owned hardware or community hosts.
const (
	cloudSecure    = "SECURE"
	cloudCommunity = "COMMUNITY"
)

// gpuList is ListGpuTypesResponse.
type gpuList struct {
	GPUs []gpuType `json:"gpus"`
}

// gpuType is GpuType: prices are USD per single GPU-hour per cloud, and
// maxCount is the largest pod per cloud (a ceiling, not stock).
type gpuType struct {
	ID           string             `json:"id"`
	Name         string             `json:"name"`
	Pool         *string            `json:"pool"`
	Manufacturer string             `json:"manufacturer"`
	Memory       int                `json:"memory"`
	Secure       bool               `json:"secure"`
	Community    bool               `json:"community"`
	Price        gpuPrice           `json:"price"`
	MaxCount     gpuMaxCount        `json:"maxCount"`
	Availability string             `json:"availability,omitempty"`
	DataCenters  []dataCenterAvail  `json:"dataCenters,omitempty"`
	CUDAVersions []cudaVersionAvail `json:"cudaVersions,omitempty"`
}

type gpuPrice struct {
	Secure     float64  `json:"secure"`
	Community  float64  `json:"community"`
	Serverless *float64 `json:"serverless,omitempty"`
}

type gpuMaxCount struct {
	Secure    int `json:"secure"`
	Community int `json:"community"`
}

// dataCenterAvail is DataCenterAvailability and CatalogResourceAvailability.
type dataCenterAvail struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Availability string `json:"availability"`
}

// cudaVersionAvail is CudaVersionAvailability.
type cudaVersionAvail struct {
	Version   string `json:"version"`
	Available bool   `json:"available"`
}

// dataCenterList is ListDataCentersResponse.
type dataCenterList struct {
	DataCenters []dataCenter `json:"dataCenters"`
}

// dataCenter is DataCenter.
type dataCenter struct {
	ID                 string            `json:"id"`
	Name               string            `json:"name"`
	Region             string            `json:"region"`
	GlobalNetwork      bool              `json:"globalNetwork"`
	NetworkVolumeTypes []string          `json:"networkVolumeTypes"`
	Compliance         []string          `json:"compliance"`
	GPUAvailability    []dataCenterAvail `json:"gpuAvailability,omitempty"`
}

// containerConfig is BaseContainerConfig: what runs in a pod.
type containerConfig struct {
	Image string            `json:"image,omitempty"`
	Args  string            `json:"args,omitempty"`
	Disk  int               `json:"disk,omitempty"`
	Env   map[string]string `json:"env,omitempty"`
	Ports []string          `json:"ports,omitempty"`
}

// createPodRequest is CreatePodRequest (GPU pods only).
type createPodRequest struct {
	Name string `json:"name"`
	containerConfig
	GPU           *createGPU `json:"gpu,omitempty"`
	Cloud         string     `json:"cloud,omitempty"`
	DataCenterIDs []string   `json:"dataCenterIds,omitempty"`
	StartSSH      bool       `json:"startSsh,omitempty"`
	Mounts        *podMounts `json:"mounts,omitempty"`
}

// createGPU is CreateGpuConfig.
type createGPU struct {
	ID    string `json:"id"`
	Count int    `json:"count,omitempty"`
}

// podList is ListPodsResponse.
type podList struct {
	Pods []pod `json:"pods"`
}

// pod is Pod.
type pod struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Status           string            `json:"status"`
	Actions          []string          `json:"actions"`
	Image            string            `json:"image"`
	Args             string            `json:"args"`
	Disk             int               `json:"disk"`
	Mounts           podMounts         `json:"mounts"`
	Ports            []string          `json:"ports"`
	Env              map[string]string `json:"env"`
	Registry         *string           `json:"registry"`
	GPU              *createGPU        `json:"gpu,omitempty"`
	Cloud            string            `json:"cloud"`
	DataCenterID     *string           `json:"dataCenterId"`
	CUDAVersion      *string           `json:"cudaVersion"`
	SSH              podSSH            `json:"ssh"`
	Cluster          *podCluster       `json:"cluster,omitempty"`
	Template         *string           `json:"template"`
	Cost             float64           `json:"cost"`
	Locked           bool              `json:"locked"`
	GlobalNetworking globalNetworking  `json:"globalNetworking"`
	Runtime          *podRuntime       `json:"runtime"`
	CreatedAt        time.Time         `json:"createdAt"`
	StartedAt        *time.Time        `json:"startedAt"`
}

// Pod statuses (PodStatus).
const (
	statusProvisioning = "PROVISIONING"
	statusStarting     = "STARTING"
	statusRunning      = "RUNNING"
	statusExited       = "EXITED"
	statusError        = "ERROR"
	statusTerminated   = "TERMINATED"
)

// podSSH is PodSsh: direct is null until the running pod has a public
// port for 22/tcp.
type podSSH struct {
	Proxy  *sshEndpoint `json:"proxy"`
	Direct *sshEndpoint `json:"direct"`
}

// sshEndpoint is PodSshEndpoint.
type sshEndpoint struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Command  string `json:"command"`
}

// podCluster is PodCluster: a member pod's place in its cluster.
type podCluster struct {
	ID   string `json:"id"`
	Rank *int   `json:"rank"`
	IP   string `json:"ip,omitempty"`
}

// globalNetworking is PodGlobalNetworking.
type globalNetworking struct {
	Enabled bool   `json:"enabled"`
	IP      string `json:"ip,omitempty"`
}

// podRuntime is PodRuntime.
type podRuntime struct {
	Uptime int           `json:"uptime"`
	Ports  []runtimePort `json:"ports"`
}

// runtimePort is PodRuntimePort.
type runtimePort struct {
	Private int    `json:"private"`
	Public  int    `json:"public"`
	Type    string `json:"type"`
	IP      string `json:"ip"`
}

// clusterCompute is ClusterCompute: podCount identical pods.
type clusterCompute struct {
	GPUTypeID      string `json:"gpuTypeId"`
	GPUCountPerPod int    `json:"gpuCountPerPod"`
	PodCount       int    `json:"podCount"`
}

// createClusterRequest is CreateClusterRequest.
type createClusterRequest struct {
	Name string `json:"name"`
	Type string `json:"type"`
	containerConfig
	Compute       clusterCompute `json:"compute"`
	DataCenterIDs []string       `json:"dataCenterIds,omitempty"`
	StartSSH      bool           `json:"startSsh,omitempty"`
}

// clusterTraining is the generic distributed-training ClusterType.
const clusterTraining = "TRAINING"

// clusterList is ListClustersResponse.
type clusterList struct {
	Clusters []cluster `json:"clusters"`
}

// cluster is Cluster.
type cluster struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Type         string          `json:"type"`
	Compute      clusterCompute  `json:"compute"`
	DataCenterID string          `json:"dataCenterId,omitempty"`
	Pods         clusterPods     `json:"pods"`
	Network      *clusterNetwork `json:"network,omitempty"`
	Primary      *clusterPrimary `json:"primary,omitempty"`
	CreatedAt    time.Time       `json:"createdAt"`
}

// clusterPods is ClusterPodsSummary.
type clusterPods struct {
	Total    int            `json:"total"`
	ByStatus map[string]int `json:"byStatus"`
}

// clusterNetwork is ClusterNetwork, the VXLAN overlay of the members.
type clusterNetwork struct {
	CIDR string `json:"cidr"`
}

// clusterPrimary is ClusterPrimary.
type clusterPrimary struct {
	PodID       string `json:"podId"`
	Status      string `json:"status"`
	SSHEndpoint string `json:"sshEndpoint,omitempty"`
}
