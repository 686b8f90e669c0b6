package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/gpusupply/supply/internal/sandbox"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/aws"
	"github.com/gpusupply/supply/internal/vendors/digitalocean"
	"github.com/gpusupply/supply/internal/vendors/hyperstack"
	"github.com/gpusupply/supply/internal/vendors/lambda"
	"github.com/gpusupply/supply/internal/vendors/nebius"
	"github.com/gpusupply/supply/internal/vendors/runpod"
	"github.com/gpusupply/supply/internal/vendors/scaleway"
	"github.com/gpusupply/supply/internal/vendors/vastai"
	"github.com/gpusupply/supply/internal/vendors/verda"
	"github.com/gpusupply/supply/internal/vendors/vultr"
)

// vendorFlags are the credentials and endpoints of the real vendors. A
// vendor is used when its credentials are set; with none set the server
// runs in sandbox mode.
type vendorFlags struct {
	lambdaKey, lambdaURL             string
	hyperstackKey, hyperstackURL     string
	scalewayKey, scalewayProject     string
	scalewayURL                      string
	scalewayZones                    []string
	verdaClientID, verdaClientSecret string
	verdaURL                         string
	runpodKey, runpodURL             string
	vastaiKey, vastaiURL             string
	nebiusServiceAccount             string
	nebiusPublicKeyID                string
	nebiusPrivateKeyFile             string
	nebiusTenant                     string
	nebiusProjects                   map[string]string
	nebiusEndpoint                   string
	nebiusInsecure                   bool
	vultrKey, vultrURL               string
	// AWS: credentials from the SDK's default chain unless given here.
	aws                           bool
	awsAccessKeyID, awsSecretKey  string
	awsEndpoint                   string
	awsRegions, awsSecurityGroups []string
	awsImageID                    string
	// DigitalOcean: a personal access token.
	digitaloceanToken, digitaloceanURL string
	// sandboxHostsURL points real adapters at another server's sandbox:
	// its hosts answer SSH on ports that service names.
	sandboxHostsURL string
}

func (f *vendorFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.lambdaKey, "lambda-api-key", "", "Lambda Cloud API key")
	fl.StringVar(&f.lambdaURL, "lambda-base-url", lambda.DefaultBaseURL, "Lambda Cloud API base URL")
	fl.StringVar(&f.hyperstackKey, "hyperstack-api-key", "", "Hyperstack API key")
	fl.StringVar(&f.hyperstackURL, "hyperstack-base-url", hyperstack.DefaultBaseURL, "Hyperstack API base URL")
	fl.StringVar(&f.scalewayKey, "scaleway-api-key", "", "Scaleway secret key (X-Auth-Token)")
	fl.StringVar(&f.scalewayProject, "scaleway-project-id", "", "Scaleway project id servers are created in")
	fl.StringVar(&f.scalewayURL, "scaleway-base-url", scaleway.DefaultBaseURL, "Scaleway API base URL")
	fl.StringSliceVar(&f.scalewayZones, "scaleway-zones", scaleway.DefaultZones, "Scaleway zones to sell and list instances in")
	fl.StringVar(&f.verdaClientID, "verda-client-id", "", "Verda (DataCrunch) OAuth2 client id")
	fl.StringVar(&f.verdaClientSecret, "verda-client-secret", "", "Verda (DataCrunch) OAuth2 client secret")
	fl.StringVar(&f.verdaURL, "verda-base-url", verda.DefaultBaseURL, "Verda API base URL")
	fl.StringVar(&f.runpodKey, "runpod-api-key", "", "RunPod API key")
	fl.StringVar(&f.runpodURL, "runpod-base-url", runpod.DefaultBaseURL, "RunPod API base URL")
	fl.StringVar(&f.vastaiKey, "vastai-api-key", "", "Vast.ai API key")
	fl.StringVar(&f.vastaiURL, "vastai-base-url", vastai.DefaultBaseURL, "Vast.ai API base URL")
	fl.StringVar(&f.nebiusServiceAccount, "nebius-service-account-id", "", "Nebius service account id")
	fl.StringVar(&f.nebiusPublicKeyID, "nebius-public-key-id", "", "Nebius service account public key id")
	fl.StringVar(&f.nebiusPrivateKeyFile, "nebius-private-key-file", "", "PEM file of the Nebius service account's private key")
	fl.StringVar(&f.nebiusTenant, "nebius-tenant-id", "", "Nebius tenant id")
	fl.StringToStringVar(&f.nebiusProjects, "nebius-projects", nil, "Nebius project per region, e.g. eu-north1=project-e00...,us-central1=project-e01...")
	fl.StringVar(&f.nebiusEndpoint, "nebius-endpoint", "", "one host:port serving every Nebius service (default: Nebius's own hosts)")
	fl.BoolVar(&f.nebiusInsecure, "nebius-insecure", false, "speak plaintext gRPC to --nebius-endpoint (only for another server's sandbox stand-in)")
	fl.StringVar(&f.vultrKey, "vultr-api-key", "", "Vultr API key")
	fl.StringVar(&f.vultrURL, "vultr-base-url", vultr.DefaultBaseURL, "Vultr API base URL (without /v2)")
	fl.BoolVar(&f.aws, "aws", false, "use AWS EC2 with the AWS SDK's default credentials (environment, shared config, instance role)")
	fl.StringVar(&f.awsAccessKeyID, "aws-access-key-id", "", "AWS access key id (instead of the SDK's default credentials; implies --aws)")
	fl.StringVar(&f.awsSecretKey, "aws-secret-access-key", "", "AWS secret access key, with --aws-access-key-id")
	fl.StringVar(&f.awsEndpoint, "aws-endpoint", "", "one URL serving EC2 and the Price List API (default: AWS's own endpoints)")
	fl.StringSliceVar(&f.awsRegions, "aws-regions", aws.DefaultRegions, "AWS regions to sell and list instances in")
	fl.StringSliceVar(&f.awsSecurityGroups, "aws-security-groups", nil, "security group ids every instance gets (one must let SSH in; default: the VPC's default group)")
	fl.StringVar(&f.awsImageID, "aws-image-id", "", "AMI to launch in every region (default: the newest "+aws.ImageName+" AMI)")
	fl.StringVar(&f.digitaloceanToken, "digitalocean-token", "", "DigitalOcean personal access token (droplet, ssh_key and sizes scopes)")
	fl.StringVar(&f.digitaloceanURL, "digitalocean-base-url", digitalocean.DefaultBaseURL, "DigitalOcean API base URL")
	fl.StringVar(&f.sandboxHostsURL, "sandbox-hosts-url", "", "with real adapters pointed at another server's sandbox (its sandbox/endpoints.json), the URL of its hosts service, which says the SSH port of each sandbox host")
}

// configured are the adapters whose credentials are set, for the
// installation owner.
func (f *vendorFlags) configured(owner string) ([]vendors.Vendor, error) {
	var vs []vendors.Vendor
	var port func(ip string) int // nil: each adapter's default, 22 or what its vendor says
	if f.sandboxHostsURL != "" {
		port = sandbox.RemotePorts(f.sandboxHostsURL)
	}
	if f.lambdaKey != "" {
		vs = append(vs, lambda.New(lambda.Config{APIKey: f.lambdaKey, BaseURL: f.lambdaURL, SSHPort: port}))
	}
	if f.hyperstackKey != "" {
		vs = append(vs, hyperstack.New(hyperstack.Config{APIKey: f.hyperstackKey, BaseURL: f.hyperstackURL, SSHPort: port}))
	}
	if f.scalewayKey != "" {
		vs = append(vs, scaleway.New(scaleway.Config{APIKey: f.scalewayKey, ProjectID: f.scalewayProject, BaseURL: f.scalewayURL, Zones: f.scalewayZones, SSHPort: port, Owner: owner}))
	}
	if f.verdaClientID != "" {
		vs = append(vs, verda.New(verda.Config{ClientID: f.verdaClientID, ClientSecret: f.verdaClientSecret, BaseURL: f.verdaURL, SSHPort: port}))
	}
	if f.runpodKey != "" {
		vs = append(vs, runpod.New(runpod.Config{APIKey: f.runpodKey, BaseURL: f.runpodURL, SSHPort: port}))
	}
	if f.vastaiKey != "" {
		vs = append(vs, vastai.New(vastai.Config{APIKey: f.vastaiKey, BaseURL: f.vastaiURL, SSHPort: port}))
	}
	if f.aws || f.awsAccessKeyID != "" {
		vs = append(vs, aws.New(aws.Config{AccessKeyID: f.awsAccessKeyID, SecretAccessKey: f.awsSecretKey, Endpoint: f.awsEndpoint,
			Regions: f.awsRegions, SecurityGroupIDs: f.awsSecurityGroups, ImageID: f.awsImageID, SSHPort: port}))
	}
	if f.nebiusServiceAccount != "" {
		key, err := os.ReadFile(f.nebiusPrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nebius private key: %w", err)
		}
		vs = append(vs, nebius.New(nebius.Config{
			ServiceAccountID: f.nebiusServiceAccount, PublicKeyID: f.nebiusPublicKeyID, PrivateKeyPEM: string(key),
			TenantID: f.nebiusTenant, Projects: f.nebiusProjects, Endpoint: f.nebiusEndpoint, Insecure: f.nebiusInsecure, SSHPort: port,
		}))
	}
	if f.vultrKey != "" {
		vs = append(vs, vultr.New(vultr.Config{APIKey: f.vultrKey, BaseURL: f.vultrURL, SSHPort: port}))
	}
	if f.digitaloceanToken != "" {
		vs = append(vs, digitalocean.New(digitalocean.Config{Token: f.digitaloceanToken, BaseURL: f.digitaloceanURL, SSHPort: port}))
	}
	return vs, nil
}
