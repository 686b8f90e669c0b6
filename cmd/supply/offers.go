package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gpusupply/supply/client"
	"github.com/gpusupply/supply/supplyapi"
)

// regionGroups are the region groups of the contract, for completion and
// to accept them in any case.
var regionGroups = []string{"US", "EU", "APAC", "Other"}

// errNoGPU is the answer to a query without --gpu.
var errNoGPU = errors.New("--gpu is required: e.g. --gpu H100 (supply gpus lists them)")

// offerFilters are the flags that narrow offers, shared by offers and rent.
type offerFilters struct {
	gpu      string
	count    int
	maxPrice float64
	region   string
	vendor   string
	spot     bool
	ondemand bool // the default; the flag is kept for the scripts that pass it
}

func (f *offerFilters) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.gpu, "gpu", "", "GPU family (H100) or exact variant (nvidia-h100-sxm5-80gb); see supply gpus")
	fl.IntVar(&f.count, "count", 1, "GPUs per offer")
	fl.Float64Var(&f.maxPrice, "max-price", 0, "highest price in USD per GPU-hour")
	fl.StringVar(&f.region, "region", "", "region group: US, EU, APAC or Other")
	fl.StringVar(&f.vendor, "vendor", "", "one vendor, e.g. nebius; see supply vendors")
	fl.BoolVar(&f.spot, "spot", false, "spot (interruptible) offers instead of on-demand ones")
	fl.BoolVar(&f.ondemand, "ondemand", false, "on-demand offers, the default")
	_ = fl.MarkDeprecated("ondemand", "on-demand is the default; --spot asks for spot offers")
	cmd.MarkFlagsMutuallyExclusive("spot", "ondemand")
	_ = cmd.RegisterFlagCompletionFunc("region", cobra.FixedCompletions(regionGroups, cobra.ShellCompDirectiveNoFileComp))
}

// query is the offer query the flags ask for: on-demand offers unless
// --spot, never both (a spot machine can be taken back at any time, so
// none is rented by surprise, and offers lists what rent would rent).
// Other flags are sent only when the user gave them, so the server's
// defaults and validation apply to the rest.
func (f *offerFilters) query(fl *pflag.FlagSet) supplyapi.OfferQuery {
	q := supplyapi.OfferQuery{Vendor: f.vendor, Region: f.region, Compute: supplyapi.OfferQueryCompute{GPUType: f.gpu, GPUCount: f.count, ContractType: contractOnDemand}}
	for _, g := range regionGroups {
		if strings.EqualFold(f.region, g) {
			q.Region = g
		}
	}
	if fl.Changed("max-price") {
		q.Compute.MaxPricePerGPUHour = &f.maxPrice
	}
	if f.spot {
		q.Compute.ContractType = contractSpot
	}
	return q
}

// The contracts of offers, as the API names them.
const (
	contractOnDemand = "ondemand"
	contractSpot     = "spot"
)

// contractWord is a contract as people write it: "on-demand" or "spot".
func contractWord(contract string) string {
	if contract == contractOnDemand {
		return "on-demand"
	}
	return contract
}

func offersCommand() *cobra.Command {
	var f offerFilters
	var limit int
	var file string
	cmd := &cobra.Command{
		Use:   "offers",
		Short: "Find GPU offers across vendors, cheapest first",
		Long: `Find GPU offers across every vendor, cheapest first. Prices are USD per GPU-hour with the
boot disk included. Each offer can be procured at its price until it expires (30 minutes).

Offers are on-demand unless --spot is given, as for supply rent: with the same filters, the
first offer listed is the one rent would rent.

--file sends a YAML query document as it is (the body of POST /get_offers) instead of the
filter flags; "-" reads it from standard input.`,
		Example: `  supply offers --gpu H100
  supply offers --gpu H100 --count 8 --max-price 4 --region EU --spot
  supply offers --gpu nvidia-a100-sxm4-80gb --vendor lambda --json
  supply offers --file query.yaml`,
		Args: usageArgs,
	}
	f.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 20, "show at most this many offers")
	cmd.Flags().StringVar(&file, "file", "", "send this YAML query file as it is (- for standard input)")
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, _ []string) error {
		res, err := findOffers(ctx, c, cmd.Flags(), &f, limit, file)
		if err != nil {
			return err
		}
		return p.answer(res, func() {
			if len(res.Offers) == 0 {
				p.note("No offers match.")
				return
			}
			offerTable(p, res.Offers)
			p.note("%d of %d offers, cheapest first. Rent one: supply procure OFFER_ID --wait", len(res.Offers), res.TotalCount)
		})
	})
}

// findOffers runs the query of the flags, or the query file.
func findOffers(ctx context.Context, c *client.Client, fl *pflag.FlagSet, f *offerFilters, limit int, file string) (supplyapi.OfferResult, error) {
	if file == "" {
		if f.gpu == "" {
			return supplyapi.OfferResult{}, errNoGPU
		}
		q := f.query(fl)
		q.Limit = limit
		return c.GetOffers(ctx, q)
	}
	for _, name := range []string{"gpu", "count", "max-price", "region", "vendor", "spot", "ondemand", "limit"} {
		if fl.Changed(name) {
			return supplyapi.OfferResult{}, fmt.Errorf("--file and --%s cannot go together: put the filter in the file", name)
		}
	}
	doc, err := readFile(file)
	if err != nil {
		return supplyapi.OfferResult{}, err
	}
	return c.GetOffersYAML(ctx, doc)
}

func offerTable(p *printer, list []supplyapi.Offer) {
	rows := make([][]string, len(list))
	for i, o := range list {
		memory := "-"
		if o.MemoryInGB != nil {
			memory = fmt.Sprintf("%g GB", *o.MemoryInGB)
		}
		rows[i] = []string{
			o.OfferID.String(), o.Vendor, regionOf(o) + " " + o.VendorRegion, o.GPUType, fmt.Sprint(o.GPUCount),
			usd(o.GPUPricePerHour), usd(o.TotalPricePerHour), orDash(o.VCPUCount), memory, contractWord(o.ContractType), until(o.ExpiresAt),
		}
	}
	p.table([]string{"OFFER ID", "VENDOR", "REGION", "GPU", "COUNT", "$/GPU-H", "$/H TOTAL", "VCPU", "RAM", "CONTRACT", "EXPIRES IN"}, rows)
}

// regionOf is where an offer is, broadly: its region group, or, where the
// group is Other, its country when known ("CA" for CANADA-1).
func regionOf(o supplyapi.Offer) string {
	if o.Region == "Other" && o.Country != "" {
		return o.Country
	}
	return o.Region
}

// readFile reads a file named by a flag; "-" is standard input.
func readFile(name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(expandHome(name))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, pathless(err))
	}
	return b, nil
}

// pathless is a file error without the path that os puts in it ("open
// /home/me/key.pub: no such file or directory"), for a message that names
// the file once, as the user wrote it.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
