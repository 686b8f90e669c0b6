package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gpusupply/supply/client"
	"github.com/gpusupply/supply/internal/printable"
	"github.com/gpusupply/supply/internal/privatekey"
	"github.com/gpusupply/supply/internal/userdata"
	"github.com/gpusupply/supply/supplyapi"
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
	volumes    []string
	ports      []string
}

func (f *procureFlags) register(cmd *cobra.Command, wait bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.sshKey, "ssh-key", "", "OpenSSH public key file that logs in as root (default: ~/.ssh/id_ed25519.pub, then ~/.ssh/id_rsa.pub)")
	fl.StringVar(&f.cloudInit, "cloud-init", "", "cloud-init file (#cloud-config or a #! script) to run at first boot")
	fl.StringVar(&f.name, "name", "", "name of the machine")
	fl.StringVar(&f.autoDelete, "auto-delete", "", `delete the machine this long after it is rented ("4h", "90m"); "never" overrides the server's default`)
	fl.StringArrayVar(&f.volumes, "volume", nil, "attach this volume (an id from supply volumes; repeatable): it must be in the offer's vendor and region")
	fl.StringArrayVar(&f.ports, "port", nil, `open a port besides SSH: 8888, "6006/tcp", "53/udp" or a range "9000-9010" (repeatable; vendors with supports_ports)`)
	fl.BoolVar(&f.wait, "wait", wait, "wait until the machine is reachable and print the ssh command (Ctrl-C stops waiting, not the procurement)")
}

// request is the procure request of the flags, for an offer yet to be
// named. It reads every file the flags name, so that a key that must not
// be sent, or a file that is not there, stops the command before it asks
// the server anything.
func (f *procureFlags) request() (supplyapi.ProcureOfferRequest, error) {
	key, err := sshKey(f.sshKey)
	if err != nil {
		return supplyapi.ProcureOfferRequest{}, err
	}
	req := supplyapi.ProcureOfferRequest{SSHPublicKey: key}
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
	for _, v := range f.volumes {
		id, err := parseID("volume", v)
		if err != nil {
			return req, err
		}
		req.VolumeIDs = append(req.VolumeIDs, id)
	}
	req.OpenPorts = openPorts(f.ports)
	switch f.autoDelete {
	case "":
	case never:
		req.AutoDeleteAfter = &supplyapi.Duration{}
	default:
		// The server judges the duration and names the field if it is bad.
		req.AutoDeleteAfter = supplyapi.DurationText(f.autoDelete)
	}
	return req, nil
}

// sshKey reads the public key file given, or the first default one found,
// and checks that it holds one OpenSSH public key. A private key is
// refused here, so that it never leaves this machine.
func sshKey(file string) (string, error) {
	if file != "" {
		b, err := readFile(file)
		if err != nil {
			return "", err
		}
		return publicKey(file, b)
	}
	for _, name := range defaultSSHKeys {
		b, err := os.ReadFile(expandHome(name))
		if err == nil {
			return publicKey(name, b)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("read %s: %w", name, pathless(err))
		}
	}
	return "", fmt.Errorf("no SSH public key in %s: pass --ssh-key FILE, or make one with ssh-keygen -t ed25519",
		strings.Join(defaultSSHKeys, " or "))
}

// publicKey is the public key in b, read from the file name; anything
// else is an error that says what to pass instead.
func publicKey(name string, b []byte) (string, error) {
	key := strings.TrimSpace(string(b))
	if privatekey.Contains(key) {
		if pub := name + ".pub"; !strings.HasSuffix(name, ".pub") && exists(pub) {
			return "", fmt.Errorf("%s is a private key, which never leaves this machine: pass its public key, --ssh-key %s", name, pub)
		}
		return "", fmt.Errorf("%s holds a private key, which never leaves this machine: pass a public key (a .pub file); "+
			"ssh-keygen -y -f %s prints this one's", name, name)
	}
	if _, err := userdata.ValidateKey(key); err != nil {
		return "", fmt.Errorf("%s %w", name, err)
	}
	return key, nil
}

// exists reports whether a file is there.
func exists(name string) bool {
	_, err := os.Stat(expandHome(name))
	return err == nil
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
		Args: usageArgs,
	}
	f.register(cmd, false)
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, args []string) error {
		offerID, err := parseID("offer", args[0])
		if err != nil {
			return err
		}
		req, err := f.request()
		if err != nil {
			return err
		}
		req.OfferID = offerID
		return procure(ctx, c, p, req, f.wait)
	})
}

func rentCommand() *cobra.Command {
	var filters offerFilters
	var f procureFlags
	var fb fallbackFlags
	cmd := &cobra.Command{
		Use:   "rent",
		Short: "Rent the cheapest matching offer, wait until it is reachable and print the ssh command",
		Long: `Rent the cheapest offer that matches the filters (as supply offers would list first), wait
until the machine is reachable and print the ssh command. Only on-demand offers are rented
unless --spot is given: a spot machine can be taken back by its vendor at any time.

When the vendor turns out to have no capacity (or quota) for it, the server moves the rental
to the next cheapest offer that matches the same filters and is at most 25% dearer per
GPU-hour than the first (--max-price sets that cap instead), up to --max-attempts offers in
all. With --until it also waits that long for one to come into stock when none is. Each
offer tried is printed as its try ends. --no-fallback rents the cheapest offer or nothing.

Ctrl-C stops waiting, not the rental: follow it with supply status OFFER_ID, or end it with
supply cancel OFFER_ID. Give the machine back with supply delete RESOURCE_ID, or let
--auto-delete do it.`,
		Example: `  supply rent --gpu H100 --auto-delete 4h
  supply rent --gpu H100 --until 2h --max-price 3
  supply rent --gpu H100 --count 8 --max-price 3 --region EU --spot --max-attempts 10
  ssh_cmd=$(supply rent --gpu L40S --name worker --no-fallback)
  supply rent --gpu H100 --volume 3f0c...`,
		Args: usageArgs,
	}
	filters.register(cmd)
	f.register(cmd, true)
	fb.register(cmd)
	return remoteCommand(cmd, func(ctx context.Context, c *client.Client, p *printer, _ []string) error {
		if filters.gpu == "" {
			return errNoGPU
		}
		req, err := f.request()
		if err != nil {
			return err
		}
		q := filters.query(cmd.Flags())
		req.Fallback = fb.fallback(cmd.Flags(), q)
		if len(req.VolumeIDs) > 0 {
			// Only offers where the volume is; a failover could leave it.
			q.VolumeID, req.Fallback = &req.VolumeIDs[0], nil
		}
		q.Limit = 1
		res, err := c.GetOffers(ctx, q)
		if err != nil {
			return err
		}
		if len(res.Offers) == 0 {
			return fmt.Errorf("no %s offer matches these filters (supply offers --gpu %s lists them all)", filters.gpu, filters.gpu)
		}
		o := res.Offers[0]
		p.note("Renting the cheapest of %d %s offers: %d× %s from %s in %s (%s) at %s per GPU-hour, %s per hour in all (offer %s).",
			res.TotalCount, contractWord(q.Compute.ContractType), o.GPUCount, o.GPUType, o.Vendor, regionOf(o), o.VendorRegion,
			usd(o.GPUPricePerHour), usd(o.TotalPricePerHour), o.OfferID)
		req.OfferID = o.OfferID
		return procure(ctx, c, p, req, f.wait)
	})
}

// fallbackFlags say how rent fails over to another offer.
type fallbackFlags struct {
	until       string
	maxAttempts int
	off         bool
}

func (f *fallbackFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.until, "until", "", `while no matching offer is in stock, wait this long for one ("2h", "30m"; at most 24h)`)
	fl.IntVar(&f.maxAttempts, "max-attempts", 0, "try at most this many offers in all, the first included (server default: 5)")
	fl.BoolVar(&f.off, "no-fallback", false, "rent the cheapest offer only: fail if its vendor has no capacity")
	cmd.MarkFlagsMutuallyExclusive("no-fallback", "until")
	cmd.MarkFlagsMutuallyExclusive("no-fallback", "max-attempts")
}

// fallback asks the server to fail over to the offers of q, the rent's
// own query (its --max-price caps them); nil with --no-fallback. Only
// flags the user gave are sent, so the server judges and defaults them.
func (f *fallbackFlags) fallback(fl *pflag.FlagSet, q supplyapi.OfferQuery) *supplyapi.Fallback {
	if f.off {
		return nil
	}
	fb := &supplyapi.Fallback{Query: &q}
	if fl.Changed("max-attempts") {
		fb.MaxAttempts = &f.maxAttempts
	}
	if f.until != "" {
		fb.Until = supplyapi.DurationText(f.until)
	}
	return fb
}

// never is what --auto-delete and resource extend take for "never".
const never = "never"

// procure starts a procurement, failing over as req.Fallback says (nil:
// not at all), and, with wait, waits until it is ready and prints how to
// reach it.
func procure(ctx context.Context, c *client.Client, p *printer, req supplyapi.ProcureOfferRequest, wait bool) error {
	offerID := req.OfferID
	// The key makes a retry of this command's request harmless.
	res, err := c.Procure(ctx, req, uuid.NewString())
	if err != nil {
		return err
	}
	if res.Status == supplyapi.ProcureFailed {
		return &client.FailedError{OfferID: offerID, Reason: deref(res.Error)}
	}
	if !wait {
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
			if len(in.Ports) > 0 {
				p.note("Ports: %s", portsText(in.Ports))
			}
		}
	})
}

// waitReady waits for a procurement with a progress line, and a line for
// each offer tried as its try ends.
func waitReady(ctx context.Context, c *client.Client, p *printer, offerID uuid.UUID) (supplyapi.OfferStatusResponse, error) {
	pr := p.startProgress()
	st, err := c.WaitProcurement(ctx, offerID, client.WaitHooks{
		OnChange:  func(st supplyapi.OfferStatusResponse) { pr.set(procurementWord(st.ProcurementStatus), st.Progress) },
		OnAttempt: func(n int, a supplyapi.Attempt) { pr.println(attemptLine(p.liveColor, n, a)) },
	})
	pr.stop()
	if errors.Is(err, context.Canceled) {
		return st, fmt.Errorf("stopped waiting, but the procurement goes on: follow it with: supply status %s, or end it with: supply cancel %s", offerID, offerID)
	}
	return st, err
}

// procurementWord is a procurement's status in words: "starting",
// "provisioning", "ready", "failed", or "not procured" for an offer.
func procurementWord(status string) string {
	switch status {
	case supplyapi.ProcurementAvailable:
		return "not procured"
	case supplyapi.ProcurementStarted:
		return "starting"
	case supplyapi.ProcurementInProgress:
		return "provisioning"
	}
	return status
}

// attemptCells are what is shown of a try: its number, vendor, region,
// price per GPU-hour, outcome ("no answer", "refused", ...) and reason.
func attemptCells(n int, a supplyapi.Attempt) []string {
	return []string{fmt.Sprint(n), a.Vendor, a.Region, usd(a.GPUPricePerHour), strings.ReplaceAll(a.Outcome, "_", " "), deref(a.Reason)}
}

// attemptLine is a try in one line of narration, its outcome coloured
// when color is set: "attempt 1 · lambda us-east-1 · $2.49 per GPU-hour ·
// refused · no capacity: ...".
func attemptLine(color bool, n int, a supplyapi.Attempt) string {
	c := attemptCells(n, a)
	for i := range c {
		c[i] = printable.Escape(c[i])
	}
	line := fmt.Sprintf("attempt %s · %s %s · %s per GPU-hour · %s", c[0], c[1], c[2], c[3], paint(color, statusColor(c[4]), c[4]))
	if c[5] != "" {
		line += " · " + c[5]
	}
	return line
}

func cancelCommand() *cobra.Command {
	return remoteCommand(&cobra.Command{
		Use:   "cancel OFFER_ID",
		Short: "Cancel a procurement under way, also one waiting for stock",
		Long: `Cancel the procurement of an offer while it is under way: trying an offer, moving to the next
one or waiting for stock. It ends as supply delete --force of its machine would: whatever the
vendor made is removed. A procurement that has ended (ready or failed) is not cancelled: delete
its machines instead.`,
		Example: `  supply cancel 3f0c9a52-8f7e-4a59-b1b2-6d1f0c1e2a3b`,
		Args:    usageArgs,
	}, func(ctx context.Context, c *client.Client, p *printer, args []string) error {
		offerID, err := parseID("offer", args[0])
		if err != nil {
			return err
		}
		st, err := c.Cancel(ctx, offerID)
		if err != nil {
			return err
		}
		return p.answer(st, func() {
			p.line("Procurement of offer %s cancelled.", offerID)
			p.note("Whatever the vendor made is being removed; supply resources --offer %s --all shows it.", offerID)
		})
	})
}

func statusCommand() *cobra.Command {
	return remoteCommand(&cobra.Command{
		Use:   "status OFFER_ID",
		Short: "Show how the procurement of an offer is going, and how to reach its machines",
		Example: `  supply status 3f0c9a52-8f7e-4a59-b1b2-6d1f0c1e2a3b
  supply status 3f0c9a52-8f7e-4a59-b1b2-6d1f0c1e2a3b --json | jq -r '.instances[].ssh_command'`,
		Args: usageArgs,
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
				{"Procurement", procurementWord(st.ProcurementStatus)},
				{"Progress", st.Progress},
				{"Failure", deref(st.FailureReason)},
				{"Procured", procured},
			})
			if len(st.Attempts) > 0 {
				fmt.Fprintln(p.out)
				rows := make([][]string, len(st.Attempts))
				for i, a := range st.Attempts {
					c := attemptCells(i+1, a)
					rows[i] = append(c[:5:5], ago(a.At), c[5])
				}
				p.table([]string{"ATTEMPT", "VENDOR", "REGION", "$/GPU-H", "OUTCOME", "STARTED", "REASON"}, rows)
			}
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
