package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/gpusupply/supply/client"
	"github.com/gpusupply/supply/provision"
)

// defaultSSHKeys are the public keys tried, in order, without --ssh-key.
var defaultSSHKeys = []string{"~/.ssh/id_ed25519.pub", "~/.ssh/id_rsa.pub"}

// procureFlags are the flags of a procurement, shared by procure and rent.
type procureFlags struct {
	sshKey     string
	cloudInit  string
	name       string
	autoDelete string
	wait       bool
}

func (f *procureFlags) register(cmd *cobra.Command, wait bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.sshKey, "ssh-key", "", "OpenSSH public key file that logs in as root (default: ~/.ssh/id_ed25519.pub, then ~/.ssh/id_rsa.pub)")
	fl.StringVar(&f.cloudInit, "cloud-init", "", "cloud-init file (#cloud-config or a #! script) to run at first boot")
	fl.StringVar(&f.name, "name", "", "name of the machine")
	fl.StringVar(&f.autoDelete, "auto-delete", "", `delete the machine this long after it is rented ("4h", "90m"); "never" overrides the server's default`)
	fl.BoolVar(&f.wait, "wait", wait, "wait until the machine is reachable and print the ssh command (Ctrl-C stops waiting, not the procurement)")
}

// request is the procure request of the flags.
func (f *procureFlags) request(offerID uuid.UUID) (provision.ProcureRequest, error) {
	key, err := sshKey(f.sshKey)
	if err != nil {
		return provision.ProcureRequest{}, err
	}
	req := provision.ProcureRequest{OfferID: offerID, SSHPublicKey: key}
	if f.cloudInit != "" {
		b, err := readFile(f.cloudInit)
		if err != nil {
			return req, err
		}
		doc := string(b)
		req.CloudInit = &doc
	}
	if f.name != "" {
		req.ResourceName = &f.name
	}
	switch f.autoDelete {
	case "":
	case never:
		req.AutoDeleteAfter = &provision.Duration{}
	default:
		// The server judges the duration and names the field if it is bad.
		req.AutoDeleteAfter = provision.DurationText(f.autoDelete)
	}
	return req, nil
}

// sshKey reads the public key file given, or the first default one found.
func sshKey(file string) (string, error) {
	if file != "" {
		b, err := readFile(file)
		return strings.TrimSpace(string(b)), err
	}
	for _, name := range defaultSSHKeys {
		b, err := os.ReadFile(expandHome(name))
		if err == nil {
			return strings.TrimSpace(string(b)), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("read %s: %w", name, err)
		}
	}
	return "", fmt.Errorf("no SSH public key in %s: pass --ssh-key FILE, or make one with ssh-keygen -t ed25519",
		strings.Join(defaultSSHKeys, " or "))
}

// expandHome expands a leading ~/, which a shell leaves alone in --flag=~/x.
func expandHome(path string) string {
	rest, ok := strings.CutPrefix(path, "~/")
	if !ok {
		return path
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return path
	}
	return filepath.Join(home, rest)
}

func procureCommand() *cobra.Command {
	var f procureFlags
	cmd := &cobra.Command{
		Use:   "procure OFFER_ID",
		Short: "Rent an offer: start a machine you can ssh into as root",
		Long: `Rent an offer found with supply offers. Procurement goes on in the background; with --wait
the command shows its progress and prints the ssh command once the machine is reachable.
Ctrl-C stops waiting, not the procurement: follow it later with supply status OFFER_ID.`,
		Example: `  supply procure 3f0c9a52-8f7e-4a59-b1b2-6d1f0c1e2a3b --wait
  supply procure 3f0c9a52-8f7e-4a59-b1b2-6d1f0c1e2a3b --ssh-key ~/.ssh/work.pub --cloud-init setup.yaml --name trainer`,
		Args: cobra.ExactArgs(1),
	}
	f.register(cmd, false)
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, args []string) error {
		offerID, err := parseID("offer", args[0])
		if err != nil {
			return err
		}
		return procure(ctx, c, p, &f, offerID)
	})
}

func rentCommand() *cobra.Command {
	var filters offerFilters
	var f procureFlags
	cmd := &cobra.Command{
		Use:   "rent",
		Short: "Rent the cheapest matching offer, wait until it is reachable and print the ssh command",
		Long: `Rent the cheapest offer that matches the filters (as supply offers would list first), wait
until the machine is reachable and print the ssh command. Only on-demand offers are rented
unless --spot is given: a spot machine can be taken back by its vendor at any time. When that
offer turns out to be gone (taken, or out of stock at the vendor), the next cheapest is tried,
up to 3 offers. Ctrl-C stops waiting, not the procurement. Give the machine back with
supply delete RESOURCE_ID, or let --auto-delete do it.`,
		Example: `  supply rent --gpu H100 --auto-delete 4h
  supply rent --gpu H100 --count 8 --max-price 3 --region EU --spot
  ssh_cmd=$(supply rent --gpu L40S --name worker)`,
		Args: cobra.NoArgs,
	}
	filters.register(cmd)
	f.register(cmd, true)
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, _ []string) error {
		if filters.gpu == "" {
			return errNoGPU
		}
		q := filters.query(cmd.Flags())
		if q.Compute.ContractType == "" {
			// No surprise preemption: spot only when asked for.
			q.Compute.ContractType = "ondemand"
		}
		q.Limit = rentAttempts
		res, err := c.GetOffers(ctx, q)
		if err != nil {
			return err
		}
		if len(res.Offers) == 0 {
			return fmt.Errorf("no %s offer matches these filters (supply offers --gpu %s lists them all)", filters.gpu, filters.gpu)
		}
		for i, o := range res.Offers {
			p.note("Renting the cheapest of %d offers: %d× %s from %s in %s (%s) at %s per GPU-hour, %s per hour in all.",
				res.TotalCount-i, o.GPUCount, o.GPUType, o.Vendor, o.Region, o.VendorRegion, usd(o.GPUPricePerHour), usd(o.TotalPricePerHour))
			err = procure(ctx, c, p, &f, o.OfferID)
			if !offerGone(err) || i == len(res.Offers)-1 {
				break
			}
			p.note("%v; trying the next cheapest offer.", err)
		}
		return err
	})
}

// never is what --auto-delete and resource extend take for "never".
const never = "never"

// rentAttempts is how many offers rent tries, cheapest first, when the
// cheaper ones turn out to be gone.
const rentAttempts = 3

// offerGone reports whether a procurement failed because of the offer
// (taken, expired, no stock at the vendor), so that another may do.
func offerGone(err error) bool {
	var failed *client.FailedError
	var e *client.Error
	switch {
	case errors.As(err, &failed):
		return true
	case errors.As(err, &e):
		return e.Status == http.StatusConflict || e.Status == http.StatusGone
	}
	return false
}

// procure starts procuring an offer and, with --wait, waits until it is
// ready and prints how to reach it.
func procure(ctx context.Context, c *client.Client, p *printer, f *procureFlags, offerID uuid.UUID) error {
	req, err := f.request(offerID)
	if err != nil {
		return err
	}
	// The key makes a retry of this command's request harmless.
	res, err := c.Procure(ctx, req, uuid.NewString())
	if err != nil {
		return err
	}
	if res.Status == provision.ProcureFailed {
		return &client.FailedError{OfferID: offerID, Reason: deref(res.Error)}
	}
	if !f.wait {
		return p.answer(res, func() {
			p.line("Procuring offer %s: resource %s.", offerID, joinIDs(res.ResourceIDs))
			p.note("Follow it with: supply status %s", offerID)
		})
	}
	st, err := waitReady(ctx, c, p, offerID)
	if err != nil {
		return err
	}
	return p.answer(st, func() {
		for _, in := range st.Instances {
			p.note("%s (resource %s) is ready. Give it back with: supply delete %s --wait", in.Name, in.ResourceID, in.ResourceID)
			p.line("%s", deref(in.SSHCommand))
		}
	})
}

// waitReady waits for a procurement with a progress line.
func waitReady(ctx context.Context, c *client.Client, p *printer, offerID uuid.UUID) (provision.OfferStatus, error) {
	pr := p.startProgress()
	st, err := c.WaitReady(ctx, offerID, func(st provision.OfferStatus) { pr.set(st.ProcurementStatus, st.Progress) })
	pr.stop()
	if errors.Is(err, context.Canceled) {
		return st, fmt.Errorf("stopped waiting, but the procurement goes on: follow it with: supply status %s", offerID)
	}
	return st, err
}

func statusCommand() *cobra.Command {
	return remoteCommand(&cobra.Command{
		Use:   "status OFFER_ID",
		Short: "Show how the procurement of an offer is going, and how to reach its machines",
		Example: `  supply status 3f0c9a52-8f7e-4a59-b1b2-6d1f0c1e2a3b
  supply status 3f0c9a52-8f7e-4a59-b1b2-6d1f0c1e2a3b --json | jq -r '.instances[].ssh_command'`,
		Args: cobra.ExactArgs(1),
	}, func(ctx context.Context, c *client.Client, p *printer, args []string) error {
		offerID, err := parseID("offer", args[0])
		if err != nil {
			return err
		}
		st, err := c.OfferStatus(ctx, offerID)
		if err != nil {
			return err
		}
		return p.answer(st, func() {
			procured := ""
			if st.ProcuredAt != nil {
				procured = ago(*st.ProcuredAt)
			}
			p.fields([][2]string{
				{"Offer", st.OfferID.String()},
				{"Status", st.Status},
				{"Procurement", st.ProcurementStatus},
				{"Progress", st.Progress},
				{"Failure", deref(st.FailureReason)},
				{"Procured", procured},
			})
			if len(st.Instances) == 0 {
				return
			}
			fmt.Fprintln(p.out)
			rows := make([][]string, len(st.Instances))
			for i, in := range st.Instances {
				rows[i] = []string{in.ResourceID.String(), in.Name, in.Status, deref(in.SSHCommand)}
			}
			p.table([]string{"RESOURCE ID", "NAME", "STATUS", "SSH"}, rows)
		})
	})
}

func joinIDs(ids []uuid.UUID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, ", ")
}
