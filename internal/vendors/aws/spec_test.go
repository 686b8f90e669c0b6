package aws

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// Where the published descriptions are, under vendor-specs.
const (
	ec2Model     = "aws/botocore/data/ec2/2016-11-15/service-2.json"
	pricingModel = "aws/botocore/data/pricing/2017-10-15/service-2.json"
	recordedXML  = "aws/recorded/botocore/response_parsing"
)

// TestAgainstPublishedModel runs the adapter against the stand-in with
// every request the SDK sends and every answer the stand-in gives checked
// against EC2's and the Price List API's botocore models (operations,
// members by locationName, types, enums, required members): a name the
// models do not have fails here even though the SDK and the stand-in
// might agree on it.
func TestAgainstPublishedModel(t *testing.T) {
	ec2 := vendortest.LoadBotocore(t, ec2Model)
	prices := vendortest.LoadBotocore(t, pricingModel)
	var seen func() []string
	f := serve(t, standin.Options{BootTime: 100 * time.Millisecond}, func(h http.Handler) http.Handler {
		var checked http.Handler
		checked, seen = vendortest.AWSChecking(t, h, ec2, prices)
		return checked
	})
	ctx := context.Background()

	items, err := f.A.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var spot vendors.CatalogItem
	for _, it := range items {
		if it.InstanceType == "g6.xlarge" && it.Region == "us-east-2" && it.Contract == vendors.Spot {
			spot = it
		}
	}
	vol, err := f.A.CreateVolume(ctx, vendors.VolumeRequest{VolumeID: uuid.NewString(), Owner: vendors.NewOwner(), Region: "us-east-1", SizeGB: 20})
	if err != nil {
		t.Fatal(err)
	}
	req := createRequest(t, "us-east-1", "g5.xlarge")
	req.UserData = "#cloud-config\nruncmd:\n  - echo hi\n"
	req.Ports = []vendors.Port{{Number: 8888, Protocol: vendors.TCP}, {Number: 5353, Protocol: vendors.UDP}}
	req.Volumes = []vendors.Volume{vol}
	in, err := f.A.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, f.A, in.ID, vendortest.Running)
	for done := false; !done; time.Sleep(20 * time.Millisecond) {
		if done, err = f.A.AttachVolumes(ctx, in.ID, req.Volumes); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.A.DeleteVolume(ctx, vol.ID); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("deleting an attached volume: %v, want VolumeInUse, invalid", err)
	}
	if _, err := f.A.ListVolumes(ctx); err != nil {
		t.Fatal(err)
	}
	_, iid, _ := strings.Cut(in.ID, "/")
	launch, _ := f.SI.Launch(iid)
	if err := f.A.DeleteFirewall(ctx, "us-east-1/"+launch.SecurityGroups[0]); !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("deleting the group of a running instance: %v, want DependencyViolation, transient", err)
	}
	if _, err := f.A.List(ctx); err != nil {
		t.Fatal(err)
	}
	vendortest.PowerRoundTrip(t, f.A, in.ID, nil)
	if err := f.A.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, f.A, in.ID, vendortest.Gone)
	fws, err := f.A.Firewalls(ctx)
	if err != nil || len(fws) != 1 {
		t.Fatalf("firewalls: %+v, %v", fws, err)
	}
	if err := f.A.DeleteFirewall(ctx, fws[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := f.A.DeleteVolume(ctx, vol.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.A.GetVolume(ctx, vol.ID); !errors.Is(err, vendors.ErrNotFound) {
		t.Errorf("a deleted volume: %v, want InvalidVolume.NotFound, not found", err)
	}
	if _, err := f.A.Create(ctx, request(t, spot)); err != nil {
		t.Fatalf("spot create: %v", err)
	}

	// Refusals, in EC2's envelope.
	if _, err := f.A.Create(ctx, createRequest(t, "us-east-1", "p6-b200.48xlarge")); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Errorf("capacity: %v", err)
	}
	if _, err := f.A.Create(ctx, request(t, vendors.CatalogItem{InstanceType: "p5e.48xlarge", Region: "us-east-1"})); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("type not sold in the region: %v", err)
	}
	f.SI.SetVCPULimit(1)
	if _, err := f.A.Create(ctx, createRequest(t, "us-east-1", "g5.xlarge")); !errors.Is(err, vendors.ErrQuota) {
		t.Errorf("vCPU limit: %v", err)
	}
	if _, err := f.A.Get(ctx, "us-east-1/i-0123456789abcdef0"); !errors.Is(err, vendors.ErrNotFound) {
		t.Errorf("missing instance: %v", err)
	}

	for _, op := range []string{"DescribeInstanceTypes", "DescribeInstanceTypeOfferings", "DescribeSpotPriceHistory", "GetProducts",
		"DescribeImages", "RunInstances", "DescribeInstances", "StopInstances", "StartInstances", "TerminateInstances",
		"CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "DescribeSecurityGroups", "DeleteSecurityGroup",
		"DescribeAvailabilityZones", "CreateVolume", "DescribeVolumes", "AttachVolume", "DeleteVolume"} {
		if !slices.Contains(seen(), op) {
			t.Errorf("the run sent no %s: it is not proven", op)
		}
	}
}

// TestRecordedAnswersPassTheChecker reads EC2's recorded answers
// (botocore's response-parsing fixtures, real EC2 XML) through the same
// check the stand-in's answers get: the check accepts what EC2 really
// sends, so what it refuses in the stand-in's is the stand-in's fault.
func TestRecordedAnswersPassTheChecker(t *testing.T) {
	ec2 := vendortest.LoadBotocore(t, ec2Model)
	dir := vendortest.SpecPath(t, recordedXML)
	for _, sub := range []string{"responses", "errors"} {
		files, err := filepath.Glob(filepath.Join(dir, sub, "ec2-*.xml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no recorded answers in %s: %v", sub, err)
		}
		for _, file := range files {
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			// Two fixtures copy the documentation's placeholder for a time.
			body = bytes.ReplaceAll(body, []byte("YYYY-MM-DDTHH:MM:SS.000Z"), []byte("2014-06-15T12:00:00.000Z"))
			action := actionOfFile(filepath.Base(file))
			status := http.StatusOK
			if sub == "errors" {
				status = http.StatusBadRequest
			}
			if p := ec2.CheckXMLResponse(action, status, body); len(p) > 0 {
				t.Errorf("%s/%s: EC2's own answer refused: %v", sub, filepath.Base(file), p)
			}
		}
	}
}

// actionOfFile is the action of a fixture "ec2-run-instances.xml":
// RunInstances.
func actionOfFile(name string) string {
	words := strings.Split(strings.TrimSuffix(strings.TrimPrefix(name, "ec2-"), ".xml"), "-")
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, "")
}

// TestPricingErrorsClassified: every error the Price List model declares
// for GetProducts is classified, none left to a guess from the status.
func TestPricingErrorsClassified(t *testing.T) {
	m := vendortest.LoadBotocore(t, pricingModel)
	errs := m.Operations["GetProducts"].Errors
	if len(errs) < 5 {
		t.Fatalf("GetProducts declares %d errors, want the model's 7", len(errs))
	}
	for _, e := range errs {
		if _, ok := codeKinds[e.Shape]; !ok {
			t.Errorf("%s is not classified", e.Shape)
		}
	}
}
