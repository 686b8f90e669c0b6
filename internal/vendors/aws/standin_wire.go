package aws

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"time"
)

// The stand-in's answers in EC2's Query protocol: XML in EC2's namespace,
// each element named by its member's locationName in EC2's service model
// (botocore data/ec2/2016-11-15/service-2.json; spec_test.go checks every
// answer against it), lists as <item> elements. The SDK has decoders for
// these but no encoders, so the stand-in, EC2's server here, has its own.

// ec2Namespace is the namespace of every EC2 answer.
const ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// ec2Version is the API version every EC2 request names.
const ec2Version = "2016-11-15"

type items[T any] struct {
	Items []T `xml:"item"`
}

type xmlInstanceTypes struct {
	RequestID     string                 `xml:"requestId"`
	InstanceTypes items[xmlInstanceType] `xml:"instanceTypeSet"`
	NextToken     string                 `xml:"nextToken,omitempty"`
}

type xmlInstanceType struct {
	InstanceType      string      `xml:"instanceType"`
	CurrentGeneration bool        `xml:"currentGeneration"`
	VCPUInfo          xmlVCPU     `xml:"vCpuInfo"`
	MemoryInfo        xmlMemory   `xml:"memoryInfo"`
	GPUInfo           *xmlGPUInfo `xml:"gpuInfo,omitempty"`
}

type xmlVCPU struct {
	DefaultVCPUs int32 `xml:"defaultVCpus"`
}

type xmlMemory struct {
	SizeInMiB int64 `xml:"sizeInMiB"`
}

type xmlGPUInfo struct {
	GPUs                items[xmlGPU] `xml:"gpus"`
	TotalGPUMemoryInMiB int32         `xml:"totalGpuMemoryInMiB"`
}

type xmlGPU struct {
	Name         string    `xml:"name"`
	Manufacturer string    `xml:"manufacturer"`
	Count        int32     `xml:"count"`
	MemoryInfo   xmlMemory `xml:"memoryInfo"`
}

type xmlOfferings struct {
	RequestID string             `xml:"requestId"`
	Offerings items[xmlOffering] `xml:"instanceTypeOfferingSet"`
	NextToken string             `xml:"nextToken,omitempty"`
}

type xmlOffering struct {
	InstanceType string `xml:"instanceType"`
	LocationType string `xml:"locationType"`
	Location     string `xml:"location"`
}

type xmlSpotPrices struct {
	RequestID string              `xml:"requestId"`
	Prices    items[xmlSpotPrice] `xml:"spotPriceHistorySet"`
	NextToken string              `xml:"nextToken,omitempty"`
}

type xmlSpotPrice struct {
	AvailabilityZone   string    `xml:"availabilityZone"`
	InstanceType       string    `xml:"instanceType"`
	ProductDescription string    `xml:"productDescription"`
	SpotPrice          string    `xml:"spotPrice"`
	Timestamp          time.Time `xml:"timestamp"`
}

type xmlImages struct {
	RequestID string          `xml:"requestId"`
	Images    items[xmlImage] `xml:"imagesSet"`
}

type xmlImage struct {
	ImageID        string `xml:"imageId"`
	ImageLocation  string `xml:"imageLocation"`
	State          string `xml:"imageState"`
	OwnerID        string `xml:"imageOwnerId"`
	CreationDate   string `xml:"creationDate"`
	Public         bool   `xml:"isPublic"`
	Architecture   string `xml:"architecture"`
	ImageType      string `xml:"imageType"`
	OwnerAlias     string `xml:"imageOwnerAlias"`
	Name           string `xml:"name"`
	Description    string `xml:"description"`
	RootDeviceType string `xml:"rootDeviceType"`
	RootDeviceName string `xml:"rootDeviceName"`
	Virtualization string `xml:"virtualizationType"`
	Hypervisor     string `xml:"hypervisor"`
	EnaSupport     bool   `xml:"enaSupport"`
}

type xmlReservation struct {
	RequestID     string             `xml:"requestId,omitempty"`
	ReservationID string             `xml:"reservationId"`
	OwnerID       string             `xml:"ownerId"`
	Groups        items[xmlGroup]    `xml:"groupSet"`
	Instances     items[xmlInstance] `xml:"instancesSet"`
}

type xmlGroup struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type xmlReservations struct {
	RequestID    string                `xml:"requestId"`
	Reservations items[xmlReservation] `xml:"reservationSet"`
	NextToken    string                `xml:"nextToken,omitempty"`
}

type xmlInstance struct {
	InstanceID        string          `xml:"instanceId"`
	ImageID           string          `xml:"imageId"`
	State             xmlState        `xml:"instanceState"`
	PrivateDNSName    string          `xml:"privateDnsName"`
	DNSName           string          `xml:"dnsName"`
	Reason            string          `xml:"reason"`
	AMILaunchIndex    int             `xml:"amiLaunchIndex"`
	InstanceType      string          `xml:"instanceType"`
	LaunchTime        time.Time       `xml:"launchTime"`
	Placement         xmlPlacement    `xml:"placement"`
	PrivateIPAddress  string          `xml:"privateIpAddress,omitempty"`
	IPAddress         string          `xml:"ipAddress,omitempty"`
	StateReason       *xmlStateReason `xml:"stateReason,omitempty"`
	Architecture      string          `xml:"architecture"`
	RootDeviceType    string          `xml:"rootDeviceType"`
	RootDeviceName    string          `xml:"rootDeviceName"`
	InstanceLifecycle string          `xml:"instanceLifecycle,omitempty"`
	ClientToken       string          `xml:"clientToken"`
	Tags              items[xmlTag]   `xml:"tagSet"`
	Groups            items[xmlGroup] `xml:"groupSet"`
}

type xmlState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type xmlPlacement struct {
	AvailabilityZone string `xml:"availabilityZone"`
	Tenancy          string `xml:"tenancy"`
}

type xmlStateReason struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type xmlTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

// xmlSecurityGroups is DescribeSecurityGroups' answer.
type xmlSecurityGroups struct {
	RequestID string                  `xml:"requestId"`
	Groups    items[xmlSecurityGroup] `xml:"securityGroupInfo"`
	NextToken string                  `xml:"nextToken,omitempty"`
}

type xmlSecurityGroup struct {
	OwnerID     string                 `xml:"ownerId"`
	GroupID     string                 `xml:"groupId"`
	GroupName   string                 `xml:"groupName"`
	Description string                 `xml:"groupDescription"`
	VpcID       string                 `xml:"vpcId"`
	Ingress     items[xmlIPPermission] `xml:"ipPermissions"`
	Egress      items[xmlIPPermission] `xml:"ipPermissionsEgress"`
	Tags        items[xmlTag]          `xml:"tagSet"`
	ARN         string                 `xml:"securityGroupArn"`
}

// xmlIPPermission is a rule as a group's listing folds them: a protocol
// and port range (none for all protocols) with its sources.
type xmlIPPermission struct {
	Protocol   string              `xml:"ipProtocol"`
	From       *int                `xml:"fromPort,omitempty"`
	To         *int                `xml:"toPort,omitempty"`
	Groups     items[xmlGroupPair] `xml:"groups"`
	IPRanges   items[xmlCIDR]      `xml:"ipRanges"`
	IPv6Ranges items[xmlCIDRv6]    `xml:"ipv6Ranges"`
}

type xmlGroupPair struct {
	UserID  string `xml:"userId"`
	GroupID string `xml:"groupId"`
}

type xmlCIDR struct {
	CIDR string `xml:"cidrIp"`
}

type xmlCIDRv6 struct {
	CIDR string `xml:"cidrIpv6"`
}

// xmlCreatedGroup is CreateSecurityGroup's answer.
type xmlCreatedGroup struct {
	RequestID string        `xml:"requestId"`
	GroupID   string        `xml:"groupId"`
	Tags      items[xmlTag] `xml:"tagSet"`
	ARN       string        `xml:"securityGroupArn"`
}

// xmlAuthorized is AuthorizeSecurityGroupIngress' answer: the rules made.
type xmlAuthorized struct {
	RequestID string         `xml:"requestId"`
	Return    bool           `xml:"return"`
	Rules     items[xmlRule] `xml:"securityGroupRuleSet"`
}

type xmlRule struct {
	ID       string `xml:"securityGroupRuleId"`
	GroupID  string `xml:"groupId"`
	OwnerID  string `xml:"groupOwnerId"`
	IsEgress bool   `xml:"isEgress"`
	Protocol string `xml:"ipProtocol"`
	From     int    `xml:"fromPort"`
	To       int    `xml:"toPort"`
	CIDRv4   string `xml:"cidrIpv4,omitempty"`
	CIDRv6   string `xml:"cidrIpv6,omitempty"`
}

// xmlDeletedGroup is DeleteSecurityGroup's answer.
type xmlDeletedGroup struct {
	RequestID string `xml:"requestId"`
	Return    bool   `xml:"return"`
	GroupID   string `xml:"groupId"`
}

// xmlZones is DescribeAvailabilityZones' answer.
type xmlZones struct {
	RequestID string         `xml:"requestId"`
	Zones     items[xmlZone] `xml:"availabilityZoneInfo"`
}

type xmlZone struct {
	ZoneName           string `xml:"zoneName"`
	ZoneID             string `xml:"zoneId"`
	RegionName         string `xml:"regionName"`
	State              string `xml:"zoneState"`
	OptInStatus        string `xml:"optInStatus"`
	ZoneType           string `xml:"zoneType"`
	GroupName          string `xml:"groupName"`
	NetworkBorderGroup string `xml:"networkBorderGroup"`
}

// xmlVolume is an EBS volume as DescribeVolumes lists it and
// CreateVolume answers it.
type xmlVolume struct {
	VolumeID           string                     `xml:"volumeId"`
	Size               int                        `xml:"size"`
	SnapshotID         string                     `xml:"snapshotId"`
	AvailabilityZone   string                     `xml:"availabilityZone"`
	AvailabilityZoneID string                     `xml:"availabilityZoneId"`
	Status             string                     `xml:"status"`
	CreateTime         time.Time                  `xml:"createTime"`
	Attachments        items[xmlVolumeAttachment] `xml:"attachmentSet"`
	Tags               items[xmlTag]              `xml:"tagSet"`
	VolumeType         string                     `xml:"volumeType"`
	IOPS               int                        `xml:"iops"`
	Throughput         int                        `xml:"throughput"`
	Encrypted          bool                       `xml:"encrypted"`
	MultiAttachEnabled bool                       `xml:"multiAttachEnabled"`
}

type xmlVolumeAttachment struct {
	VolumeID            string    `xml:"volumeId"`
	InstanceID          string    `xml:"instanceId"`
	Device              string    `xml:"device"`
	Status              string    `xml:"status"`
	AttachTime          time.Time `xml:"attachTime"`
	DeleteOnTermination bool      `xml:"deleteOnTermination"`
}

// xmlVolumes is DescribeVolumes' answer.
type xmlVolumes struct {
	RequestID string           `xml:"requestId"`
	Volumes   items[xmlVolume] `xml:"volumeSet"`
	NextToken string           `xml:"nextToken,omitempty"`
}

// xmlCreatedVolume is CreateVolume's answer: the volume.
type xmlCreatedVolume struct {
	RequestID string `xml:"requestId"`
	xmlVolume
}

// xmlAttached is AttachVolume's answer: the attachment.
type xmlAttached struct {
	RequestID string `xml:"requestId"`
	xmlVolumeAttachment
}

// xmlRequestOnly is the answer of an action whose model has no output
// (DeleteVolume).
type xmlRequestOnly struct {
	RequestID string `xml:"requestId"`
}

// xmlStateChanges is the answer of TerminateInstances, StopInstances and
// StartInstances: each names its list instancesSet.
type xmlStateChanges struct {
	RequestID string                `xml:"requestId"`
	Instances items[xmlStateChange] `xml:"instancesSet"`
}

type xmlStateChange struct {
	InstanceID    string   `xml:"instanceId"`
	CurrentState  xmlState `xml:"currentState"`
	PreviousState xmlState `xml:"previousState"`
}

// xmlErrorResponse is EC2's error envelope.
type xmlErrorResponse struct {
	XMLName   xml.Name   `xml:"Response"`
	Errors    []xmlError `xml:"Errors>Error"`
	RequestID string     `xml:"RequestID"`
}

type xmlError struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// writeXML answers action's result v as <actionResponse> in EC2's
// namespace.
func writeXML(w http.ResponseWriter, action string, v any) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: action + "Response"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ec2Namespace}}})
	enc.Close()
}

// ec2ErrorBody is EC2's error envelope for code and message.
func ec2ErrorBody(code, message string) []byte {
	b, _ := xml.Marshal(xmlErrorResponse{Errors: []xmlError{{Code: code, Message: message}}, RequestID: newRequestID()})
	return append([]byte(xml.Header), b...)
}

func writeEC2Error(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	w.Write(ec2ErrorBody(code, message))
}

// The Price List API's JSON (awsJson1_1): the request and answer of
// GetProducts as the botocore pricing model has them, and its error
// envelope ({"__type", "message"}).

type getProductsRequest struct {
	ServiceCode   string          `json:"ServiceCode"`
	Filters       []productFilter `json:"Filters,omitempty"`
	FormatVersion string          `json:"FormatVersion,omitempty"`
	NextToken     string          `json:"NextToken,omitempty"`
	MaxResults    int             `json:"MaxResults,omitempty"`
}

type productFilter struct {
	Type  string `json:"Type"`
	Field string `json:"Field"`
	Value string `json:"Value"`
}

type getProductsResponse struct {
	FormatVersion string   `json:"FormatVersion"`
	PriceList     []string `json:"PriceList"`
	NextToken     string   `json:"NextToken,omitempty"`
}

type jsonError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func writeJSONError(w http.ResponseWriter, status int, typ, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(jsonError{Type: typ, Message: message})
}

// priceDoc is one Price List product document (format aws_v1) as the
// stand-in writes it: the product, its attributes, and its on-demand
// term with one hourly price dimension.
type priceDoc struct {
	Product         priceProduct          `json:"product"`
	ServiceCode     string                `json:"serviceCode"`
	Terms           map[string]priceTerms `json:"terms"`
	Version         string                `json:"version"`
	PublicationDate string                `json:"publicationDate"`
}

type priceProduct struct {
	ProductFamily string            `json:"productFamily"`
	Attributes    map[string]string `json:"attributes"`
	SKU           string            `json:"sku"`
}

type priceTerms map[string]priceTerm

type priceTerm struct {
	PriceDimensions map[string]priceDimension `json:"priceDimensions"`
	SKU             string                    `json:"sku"`
	EffectiveDate   string                    `json:"effectiveDate"`
	OfferTermCode   string                    `json:"offerTermCode"`
	TermAttributes  map[string]string         `json:"termAttributes"`
}

type priceDimension struct {
	Unit         string            `json:"unit"`
	EndRange     string            `json:"endRange"`
	Description  string            `json:"description"`
	AppliesTo    []string          `json:"appliesTo"`
	RateCode     string            `json:"rateCode"`
	BeginRange   string            `json:"beginRange"`
	PricePerUnit map[string]string `json:"pricePerUnit"`
}
