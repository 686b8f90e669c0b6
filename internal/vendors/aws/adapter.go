// Package aws is supply's adapter for Amazon EC2, on AWS's official Go
// SDK (aws-sdk-go-v2: service/ec2 and service/pricing), and a stand-in
// server of EC2's Query API and the Price List API for tests and sandbox
// mode.
//
// EC2 sells GPU instance types (the g and p families) on demand and as
// spot, region by region. It publishes no stock: an offer is shown
// available unless a launch of it was refused for capacity a short while
// ago (the adapter remembers refusals). On-demand prices come from the
// Price List API, spot prices from EC2's spot price history. Instances
// carry supply's marks as tags, and RunInstances is idempotent on its
// ClientToken, which is the resource id.
package aws

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	sdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/userdata"
	"github.com/gpusupply/supply/internal/vendors"
)

// Name is the vendor slug.
const Name = "aws"

// DefaultRegions are the regions read when Config.Regions is empty: the
// ones that sell most of EC2's GPU types, in the US, Europe and APAC.
var DefaultRegions = []string{"us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "eu-north-1",
	"ap-northeast-1", "ap-southeast-2"}

// EC2's request throttling ("Request throttling for the Amazon EC2 API",
// EC2 API reference): a token bucket per account and region for each
// kind of action. Non-mutating (Describe*) actions: a bucket of 100
// tokens refilled at 20 a second; mutating actions (RunInstances,
// TerminateInstances, ...): 50 refilled at 5 a second. The Price List API
// publishes no rate; 10 a second is polite.
const (
	describeRate  = rate.Limit(20)
	describeBurst = 100
	mutateRate    = rate.Limit(5)
	mutateBurst   = 50
	pricingRate   = rate.Limit(10)
	pricingBurst  = 10
)

// Defaults of the Config.
const (
	defaultTimeout    = 30 * time.Second
	defaultPriceTTL   = 6 * time.Hour
	defaultRefusalTTL = 10 * time.Minute
	// DefaultBootDiskGB is the gp3 root volume every instance gets.
	DefaultBootDiskGB = 200
	// gp3's list price, USD per GB-month in us-east-1 (Amazon EBS
	// pricing), spread over AWS's 730-hour month.
	gp3USDPerGBMonth = 0.08
	hoursPerMonth    = 730
	// maxUserData is EC2's limit on user data before base64 (16 KB,
	// RunInstances UserData documentation).
	maxUserData = 16 << 10
)

// Image is the Deep Learning AMI an instance boots when Config.ImageID is
// empty: the newest image AWS itself owns whose name matches ImageName,
// found per region with DescribeImages (no SSM parameter lookup: the
// adapter needs EC2 permissions only). It has the NVIDIA driver and
// cloud-init, and its default user is ubuntu; root's key comes from the
// user data.
const (
	ImageOwner = "amazon"
	ImageName  = "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *"
)

// gpuFamilies are the instance families with NVIDIA GPUs that the catalog
// reads (EC2 has no GPU filter; DescribeInstanceTypes and the offerings
// are filtered on these names).
var gpuFamilies = []string{"g4dn", "g5", "g6", "g6e", "gr6", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200"}

// formFactors are the families whose GPU EC2 names bare although the
// product comes in several variants ("A100", "H100"): their form factor,
// with the memory EC2 reports, names the exact one. The g families'
// GPUs (T4, A10G, L4, L40S) come in one variant each.
var formFactors = map[string]string{"p4d": "SXM4", "p4de": "SXM4", "p5": "SXM5", "p5e": "SXM5", "p5en": "SXM5", "p6-b200": "SXM6"}

// Config configures an Adapter.
type Config struct {
	// Regions are the regions to read and launch in; nil → DefaultRegions.
	Regions []string
	// Endpoint, when set, is where EC2 and Price List requests go (a
	// stand-in); empty: AWS's own endpoints.
	Endpoint string
	// AccessKeyID and SecretAccessKey are static credentials; empty: the
	// SDK's default chain (environment, shared config, instance role).
	AccessKeyID, SecretAccessKey string
	// ImageID, when set, is the AMI launched in every region instead of
	// the newest Deep Learning AMI.
	ImageID string
	// SecurityGroupIDs are given to every instance, after its own group
	// when it asks for open ports (that one lets SSH in; otherwise one of
	// these must); empty: the VPC's default group, or the instance's own.
	SecurityGroupIDs []string
	// BootDiskGB sizes the root volume; zero → DefaultBootDiskGB.
	BootDiskGB int
	// HTTP does the requests; nil means http.DefaultTransport.
	HTTP *http.Client
	// SSHPort tells where sshd answers on an instance's IP; nil → 22.
	SSHPort func(ip string) int
	// RateLimit and Burst override every bucket; zero → EC2's own.
	RateLimit rate.Limit
	Burst     int
	// Timeout bounds one attempt; zero → 30 s.
	Timeout time.Duration
	// PageSize is the MaxResults of a DescribeInstances page; zero → 1000.
	PageSize int32
	// PriceTTL is how long on-demand prices, instance types and offerings
	// are kept; zero → 6 h. RefusalTTL is how long a capacity refusal
	// keeps an offer shown sold out; zero → 10 min.
	PriceTTL, RefusalTTL time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Logger receives warnings; nil → slog.Default().
	Logger *slog.Logger
}

// Adapter speaks EC2 through AWS's SDK. It is safe for concurrent use.
type Adapter struct {
	cfg     Config
	regions []string
	ec2     map[string]*ec2.Client
	pricing *pricing.Client
	// budget holds the timeout and retry policy every call runs under;
	// the buckets are EC2's per region (describe, mutate) and Pricing's.
	budget           *vendors.Client
	describe, mutate map[string]*rate.Limiter
	priceBucket      *rate.Limiter
	initErr          error
	sshPort          func(ip string) int
	now              func() time.Time
	log              *slog.Logger
	sizes            vendors.ItemsSize

	mu        sync.Mutex
	types     map[string]cached[map[string]types.InstanceTypeInfo]
	offerings map[string]cached[map[string][]string]
	prices    map[string]cached[map[string]float64]
	images    map[string]cached[image]
	// zones are the regions' volume zones (volumeZone).
	zones map[string]string
	// refused holds, by type/region/contract, until when a capacity
	// refusal shows an offer sold out.
	refused map[string]time.Time
	// unplaced are the regions regionCountries lacks.
	unplaced vendors.Unplaced
}

// cached is a value read at a time.
type cached[T any] struct {
	v  T
	at time.Time
}

// image is the AMI a region launches and its root device.
type image struct{ id, root string }

var (
	_ vendors.Vendor  = (*Adapter)(nil)
	_ vendors.Stopper = (*Adapter)(nil)
)

// New returns an adapter for the account c's credentials name.
func New(c Config) *Adapter {
	if len(c.Regions) == 0 {
		c.Regions = DefaultRegions
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.BootDiskGB = cmp.Or(c.BootDiskGB, DefaultBootDiskGB)
	c.PageSize = cmp.Or(c.PageSize, 1000)
	c.PriceTTL = cmp.Or(c.PriceTTL, defaultPriceTTL)
	c.RefusalTTL = cmp.Or(c.RefusalTTL, defaultRefusalTTL)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	a := &Adapter{
		cfg: c, regions: c.Regions, ec2: map[string]*ec2.Client{},
		budget: vendors.NewClient(vendors.ClientConfig{
			Vendor: Name, Timeout: cmp.Or(c.Timeout, defaultTimeout), MaxWait: 5 * time.Second,
		}),
		describe: map[string]*rate.Limiter{}, mutate: map[string]*rate.Limiter{},
		priceBucket: rate.NewLimiter(cmp.Or(c.RateLimit, pricingRate), cmp.Or(c.Burst, pricingBurst)),
		sshPort:     c.SSHPort, now: c.Now,
		log:   c.Logger.With("vendor", Name),
		types: map[string]cached[map[string]types.InstanceTypeInfo]{}, offerings: map[string]cached[map[string][]string]{}, prices: map[string]cached[map[string]float64]{},
		images: map[string]cached[image]{}, zones: map[string]string{}, refused: map[string]time.Time{},
	}
	if a.sshPort == nil {
		a.sshPort = func(string) int { return 22 }
	}
	base := http.DefaultTransport
	timeout := time.Duration(0)
	if c.HTTP != nil {
		if c.HTTP.Transport != nil {
			base = c.HTTP.Transport
		}
		timeout = c.HTTP.Timeout
	}
	hc := &http.Client{Transport: transport{base: vendors.TracedTransport(Name, base)}, Timeout: timeout}
	cfg, err := sdkConfig(c)
	a.initErr = err
	for _, r := range c.Regions {
		a.ec2[r] = newEC2(cfg, c, hc, r)
		a.describe[r] = rate.NewLimiter(cmp.Or(c.RateLimit, describeRate), cmp.Or(c.Burst, describeBurst))
		a.mutate[r] = rate.NewLimiter(cmp.Or(c.RateLimit, mutateRate), cmp.Or(c.Burst, mutateBurst))
	}
	a.pricing = newPricing(cfg, c, hc)
	return a
}

// AccountIdentifiers implements vendors.AccountIdentifiers: the access
// key id names the operator's account, and its secret must never reach
// a tenant whatever an answer quotes.
func (a *Adapter) AccountIdentifiers() []string {
	return slices.DeleteFunc([]string{a.cfg.AccessKeyID, a.cfg.SecretAccessKey}, func(s string) bool { return s == "" })
}

// Name returns "aws".
func (a *Adapter) Name() string { return Name }

// Info describes EC2: on-demand and spot VMs with cloud-init and tags,
// which stop and start, open ports through a security group each, and
// have EBS volumes attached once they run (as many as the device names
// /dev/sdf to /dev/sdp give).
func (a *Adapter) Info() vendors.Info {
	return vendors.Info{
		Name:        Name,
		DisplayName: "AWS EC2",
		Spot:        true,
		CloudInit:   true,
		Tags:        true,
		Cilium:      true,
		Stop:        true,
		Ports:       true,
		Volumes:     true,
		MaxVolumes:  maxVolumes,
	}
}

// The vendor's id of an instance is "<region>/<instance id>": EC2's ids
// say nothing of their region, and every call is made in one.
func instanceID(region, id string) string { return region + "/" + id }

// splitID reads an instance id back; a malformed one names nothing.
func (a *Adapter) splitID(op, id string) (*ec2.Client, string, string, error) {
	region, iid, ok := strings.Cut(id, "/")
	client := a.ec2[region]
	if !ok || client == nil || !strings.HasPrefix(iid, "i-") {
		return nil, "", "", &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrNotFound, Message: "no instance " + id + " in the configured regions"}
	}
	return client, region, iid, nil
}

// Create launches one instance tagged with req.ResourceID, or returns the
// one that already carries it. RunInstances is idempotent on its
// ClientToken (the resource id) besides.
func (a *Adapter) Create(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
	client := a.ec2[req.Region]
	if client == nil {
		return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "run instances", Kind: vendors.ErrInvalid, Message: "region " + req.Region + " is not configured"}
	}
	existing, err := a.find(ctx, req.Region, req.ResourceID)
	if err != nil || existing != nil {
		return a.orZero(req.Region, existing), err
	}
	var zone, mounts string
	if len(req.Volumes) > 0 {
		if zone, mounts, err = a.placeVolumes(ctx, req); err != nil {
			return vendors.Instance{}, err
		}
	}
	doc, err := userdata.CloudInit(req.SSHPublicKey, req.UserData, mounts)
	if err == nil && len(doc) > maxUserData {
		err = errors.New("user data over EC2's 16 KB")
	}
	if err != nil {
		return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "run instances", Kind: vendors.ErrInvalid, Message: err.Error()}
	}
	img, err := a.image(ctx, req.Region)
	if err != nil {
		return vendors.Instance{}, err
	}
	in := &ec2.RunInstancesInput{
		ImageId:      sdk.String(img.id),
		InstanceType: types.InstanceType(req.InstanceType),
		MinCount:     sdk.Int32(1),
		MaxCount:     sdk.Int32(1),
		UserData:     sdk.String(base64.StdEncoding.EncodeToString([]byte(doc))),
		ClientToken:  sdk.String(req.ResourceID),
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: sdk.String(img.root), Ebs: &types.EbsBlockDevice{
			VolumeSize: sdk.Int32(int32(a.cfg.BootDiskGB)), VolumeType: types.VolumeTypeGp3, DeleteOnTermination: sdk.Bool(true),
		}}},
		SecurityGroupIds: a.cfg.SecurityGroupIDs,
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeInstance, Tags: tags(req.ResourceID, req.Owner, true)},
			{ResourceType: types.ResourceTypeVolume, Tags: tags(req.ResourceID, req.Owner, false)},
		},
	}
	if len(req.Ports) > 0 {
		group, err := a.ensureSecurityGroup(ctx, req.Region, req)
		if err != nil {
			return vendors.Instance{}, err
		}
		in.SecurityGroupIds = append([]string{group}, a.cfg.SecurityGroupIDs...)
	}
	if req.Contract == vendors.Spot {
		// One-time spot at the on-demand price cap (no MaxPrice): an
		// interruption terminates the instance, which Get reports as
		// preempted.
		in.InstanceMarketOptions = &types.InstanceMarketOptionsRequest{MarketType: types.MarketTypeSpot,
			SpotOptions: &types.SpotMarketOptions{SpotInstanceType: types.SpotInstanceTypeOneTime,
				InstanceInterruptionBehavior: types.InstanceInterruptionBehaviorTerminate}}
		zone = cmp.Or(zone, req.Item.Extra[extraZone])
	}
	if zone != "" {
		// The volumes' zone (placeVolumes checked that a spot offer's
		// is the same), or the spot price's.
		in.Placement = &types.Placement{AvailabilityZone: sdk.String(zone)}
	}
	var out *ec2.RunInstancesOutput
	err = a.call(ctx, "run instances", a.mutate[req.Region], false, func(ctx context.Context) (err error) {
		out, err = client.RunInstances(ctx, in)
		return err
	})
	if errors.Is(err, vendors.ErrNoCapacity) {
		a.refuse(req.InstanceType, req.Region, req.Contract)
	}
	if err != nil {
		return vendors.Instance{}, err
	}
	if len(out.Instances) == 0 {
		return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "run instances", Kind: vendors.ErrTransient, Message: "RunInstances answered no instance"}
	}
	return a.instance(req.Region, out.Instances[0]), nil
}

func (a *Adapter) orZero(region string, in *types.Instance) vendors.Instance {
	if in == nil {
		return vendors.Instance{}
	}
	return a.instance(region, *in)
}

// liveStates are the states of an instance that exists for supply:
// terminated ones stay listed by EC2 for about an hour.
var liveStates = []string{"pending", "running", "shutting-down", "stopping", "stopped"}

// find returns the live instance in region carrying resourceID, if any.
func (a *Adapter) find(ctx context.Context, region, resourceID string) (*types.Instance, error) {
	found, err := a.describeInstances(ctx, region, "find instance", &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: sdk.String("tag:" + vendors.Tag), Values: []string{resourceID}},
		{Name: sdk.String("instance-state-name"), Values: liveStates},
	}})
	if err != nil || len(found) == 0 {
		return nil, err
	}
	return &found[0], nil
}

// describeInstances reads every page of a DescribeInstances in region.
func (a *Adapter) describeInstances(ctx context.Context, region, op string, in *ec2.DescribeInstancesInput) ([]types.Instance, error) {
	if in.InstanceIds == nil {
		in.MaxResults = sdk.Int32(a.cfg.PageSize)
	}
	var all []types.Instance
	err := a.call(ctx, op, a.describe[region], true, func(ctx context.Context) error {
		all = all[:0]
		pages := ec2.NewDescribeInstancesPaginator(a.ec2[region], in)
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, r := range page.Reservations {
				all = append(all, r.Instances...)
			}
		}
		return nil
	})
	return all, err
}

// Get returns one instance. EC2 answers InvalidInstanceID.NotFound once
// a terminated instance is gone.
func (a *Adapter) Get(ctx context.Context, id string) (vendors.Instance, error) {
	_, region, iid, err := a.splitID("describe instance", id)
	if err != nil {
		return vendors.Instance{}, err
	}
	found, err := a.describeInstances(ctx, region, "describe instance", &ec2.DescribeInstancesInput{InstanceIds: []string{iid}})
	if err != nil {
		return vendors.Instance{}, err
	}
	if len(found) == 0 {
		return vendors.Instance{}, &vendors.Error{Vendor: Name, Op: "describe instance", Kind: vendors.ErrNotFound, Message: "no instance " + id}
	}
	return a.instance(region, found[0]), nil
}

// List returns every live instance carrying supply's tag, in every
// configured region.
func (a *Adapter) List(ctx context.Context) ([]vendors.Instance, error) {
	var out []vendors.Instance
	for _, region := range a.regions {
		found, err := a.describeInstances(ctx, region, "list instances", &ec2.DescribeInstancesInput{Filters: []types.Filter{
			{Name: sdk.String("tag-key"), Values: []string{vendors.Tag}},
			{Name: sdk.String("instance-state-name"), Values: liveStates},
		}})
		if err != nil {
			return nil, err
		}
		for _, in := range found {
			out = append(out, a.instance(region, in))
		}
	}
	return out, nil
}

// Terminate asks EC2 to terminate id (its root volume goes with it:
// DeleteOnTermination); an instance EC2 no longer knows is already gone.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	client, region, iid, err := a.splitID("terminate", id)
	if err != nil {
		return nil // an id that names no instance here: nothing to terminate
	}
	err = a.call(ctx, "terminate", a.mutate[region], true, func(ctx context.Context) error {
		_, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{iid}})
		return err
	})
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

// tags are the instance's marks (vendors.Marks) as EC2 tags, with its
// Name when withName (the console shows it).
func tags(resourceID, owner string, withName bool) []types.Tag {
	var out []types.Tag
	for _, m := range vendors.Marks(resourceID, owner) {
		out = append(out, types.Tag{Key: sdk.String(m.Key), Value: sdk.String(m.Value)})
	}
	if withName {
		out = append(out, types.Tag{Key: sdk.String("Name"), Value: sdk.String(vendors.InstanceName(resourceID))})
	}
	return out
}

func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if sdk.ToString(t.Key) == key {
			return sdk.ToString(t.Value)
		}
	}
	return ""
}

// Spot interruptions, as StateReason codes ("Spot Instance interruptions"
// and StateReason in the EC2 API reference): the instance was terminated
// or stopped by EC2 for capacity or price.
var interrupted = []string{"Server.SpotInstanceTermination", "Server.SpotInstanceShutdown"}

func (a *Adapter) instance(region string, in types.Instance) vendors.Instance {
	resourceID, owner := vendors.ReadMarks(func(key string) string { return tagValue(in.Tags, key) })
	out := vendors.Instance{
		ID:           instanceID(region, sdk.ToString(in.InstanceId)),
		ResourceID:   resourceID,
		Owner:        owner,
		Name:         tagValue(in.Tags, "Name"),
		InstanceType: string(in.InstanceType),
		Region:       region,
		ExternalIP:   sdk.ToString(in.PublicIpAddress),
		InternalIP:   sdk.ToString(in.PrivateIpAddress),
		CreatedAt:    sdk.ToTime(in.LaunchTime),
	}
	var reason string
	if in.StateReason != nil {
		reason = sdk.ToString(in.StateReason.Code)
		out.Message = sdk.ToString(in.StateReason.Message)
	}
	if in.State != nil {
		out.VendorState = string(in.State.Name)
	}
	switch name := types.InstanceStateName(out.VendorState); {
	case slices.Contains(interrupted, reason) && name != types.InstanceStateNamePending && name != types.InstanceStateNameRunning:
		out.State = vendors.StatePreempted
	case name == types.InstanceStateNameRunning && out.ExternalIP != "":
		out.State = vendors.StateRunning
	case name == types.InstanceStateNameRunning, name == types.InstanceStateNamePending, name == types.InstanceStateNameStopping:
		// Ready means reachable: running without a public address yet is
		// still coming up; stopping is stopped once it is.
		out.State = vendors.StatePending
	case name == types.InstanceStateNameStopped:
		out.State = vendors.StateStopped
	case name == types.InstanceStateNameShuttingDown:
		out.State = vendors.StateTerminating
	case name == types.InstanceStateNameTerminated:
		out.State = vendors.StateTerminated
	default:
		out.State = vendors.StatePending
		out.Message = "unknown EC2 state " + out.VendorState
	}
	if out.ExternalIP != "" {
		out.SSHPort = a.sshPort(out.ExternalIP)
	}
	return out
}

// Stop asks EC2 to stop the running instance id: its EBS root volume
// stays (and bills). EC2 answers a stop of a stopped instance as done, so
// the state is read first: stopping what is not running is refused.
func (a *Adapter) Stop(ctx context.Context, id string) error {
	return a.power(ctx, "stop", id, vendors.StateRunning, func(ctx context.Context, client *ec2.Client, iid string) error {
		_, err := client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{iid}})
		return err
	})
}

// Start asks EC2 to start the stopped instance id; EC2 refuses with
// InsufficientInstanceCapacity when it cannot place it again.
func (a *Adapter) Start(ctx context.Context, id string) error {
	return a.power(ctx, "start", id, vendors.StateStopped, func(ctx context.Context, client *ec2.Client, iid string) error {
		_, err := client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{iid}})
		return err
	})
}

// power runs a stop or a start of id, which must be in state from.
func (a *Adapter) power(ctx context.Context, op, id string, from vendors.State, do func(context.Context, *ec2.Client, string) error) error {
	client, region, iid, err := a.splitID(op, id)
	if err != nil {
		return err
	}
	in, err := a.Get(ctx, id)
	if err != nil {
		return err
	}
	if in.State != from {
		return &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrInvalid, Message: "instance " + id + " is " + in.VendorState}
	}
	return a.call(ctx, op, a.mutate[region], true, func(ctx context.Context) error { return do(ctx, client, iid) })
}

// StoppedPricePerHour is the boot disk's share: EC2 bills no instance
// hours for a stopped instance, only its EBS volumes ("Stop and start
// Amazon EC2 instances", EC2 user guide).
func (a *Adapter) StoppedPricePerHour(item vendors.CatalogItem) float64 {
	return item.BootDiskPricePerHour
}
