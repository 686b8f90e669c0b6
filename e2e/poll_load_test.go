package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// TestLoadPolling measures what clients poll while machines come up, GET
// /offers/{id}/status (also conditionally, with the ETag of the last
// answer, as "offer-status-etag") and GET /resources (all, and the first
// page of 100), on the real binary with 1,000 procurements and 2,000
// resources of the server's account in its database. Opt-in (SUPPLY_LOAD_POLL=1); SUPPLY_LOAD_ENGINES,
// _CONCURRENCY, _DURATION, _RUNS, _ENCODINGS and _PROFILE tune it as for
// TestLoadGetOffers; SUPPLY_LOAD_ENDPOINTS (e.g. offer-status,resources)
// measures only the endpoints it names.
//
// The rows are written straight through the store package while the server
// runs, as procuring would have left them (a procurement, then its two
// nodes, running), rather than procured through the API: seconds instead
// of minutes of sandbox boots, and the reads measured are the same. Every
// procurement records the same real offer under its own id.
func TestLoadPolling(t *testing.T) {
	if os.Getenv("SUPPLY_LOAD_POLL") != "1" {
		t.Skip("load test; run with SUPPLY_LOAD_POLL=1")
	}
	const procurements, nodes = 1000, 2
	cfg := loadConfigFromEnv(t)
	for _, engine := range cfg.engines {
		t.Run(engine, func(t *testing.T) {
			// The seeded instances do not exist at the sandbox vendors: a
			// reconcile pass would fail every seeded resource, a burst of
			// writes in the middle of the measurement that no real poll
			// load comes with (the rows change while they are polled).
			flags := []string{"--catalog-refresh", "1h", "--rate-limit", "0", "--reconcile-every", "1h"}
			if cfg.profiles != "" {
				flags = append(flags, "--metrics-pprof")
			}
			s := Start(t, engine, flags...)
			s.WaitVendors(t)
			var res supplyapi.OfferResult
			s.JSON(t, http.MethodPost, "/get_offers", yamlType, []byte("compute: {gpu_type: H100}\nlimit: 1\n"), http.StatusOK, &res)
			if len(res.Offers) == 0 {
				t.Fatal("no H100 offer to record")
			}
			waitReconciled(t, s)
			ids := seedProcurements(t, s, res.Offers[0], procurements, nodes)
			// A status of two nodes is too small to be compressed, so
			// its tag is the same in every coding.
			tags := make([]string, len(ids))
			for i, id := range ids {
				_, h, _ := s.Do(t, http.MethodGet, "/offers/"+id+"/status", "", nil)
				tags[i] = h.Get("ETag")
			}
			endpoints := []struct {
				name    string
				request func(i int) loadRequest
			}{
				{"offer-status", func(i int) loadRequest {
					return loadRequest{method: http.MethodGet, path: "/offers/" + ids[i%len(ids)] + "/status", want: []byte(`{`)}
				}},
				{"offer-status-etag", func(i int) loadRequest {
					return loadRequest{method: http.MethodGet, path: "/offers/" + ids[i%len(ids)] + "/status", ifNoneMatch: tags[i%len(ids)]}
				}},
				{"resources", func(int) loadRequest {
					return loadRequest{method: http.MethodGet, path: "/resources", want: []byte(`[`)}
				}},
				{"resources-limit-100", func(int) loadRequest {
					return loadRequest{method: http.MethodGet, path: "/resources?limit=100", want: []byte(`[`)}
				}},
			}
			for _, ep := range endpoints {
				if cfg.endpoints != nil && !slices.Contains(cfg.endpoints, ep.name) {
					continue
				}
				for _, concurrency := range cfg.concurrencies {
					for _, encoding := range cfg.encodings {
						l := newLoader(s, concurrency, encoding, ep.request)
						m := l.measure(t, cfg, fmt.Sprintf("cpu-poll-%s-%s-c%d-%s.pprof", engine, ep.name, concurrency, encoding))
						t.Logf("RESULT engine=%s endpoint=%s procurements=%d resources=%d concurrency=%d encoding=%s median of %d: %s",
							engine, ep.name, procurements, procurements*nodes, concurrency, encoding, cfg.runs, m)
						if m.errors > 0 {
							t.Errorf("%d requests failed", m.errors)
						}
					}
				}
			}
		})
	}
}

// waitReconciled waits for the reconcile pass the server runs at start to
// finish, so that it cannot read a part of the seeded rows and fail them
// while they are polled (the seeded instances exist at no vendor).
func waitReconciled(t *testing.T, s *Server) {
	t.Helper()
	done := regexp.MustCompile(`supply_job_steps_total\{kind="reconcile",outcome="ok"\} [1-9]`)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if done.Match(s.Metrics(t)) {
			return
		}
	}
	t.Fatal("the server's first reconcile pass did not finish within a minute")
}

// seedProcurements records n procurements of offer by s's account, each
// with nodes running resources, and returns their offer ids.
func seedProcurements(t *testing.T, s *Server, offer supplyapi.Offer, n, nodes int) []string {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DatabaseURL: s.DatabaseURL, DataDir: s.DataDir})
	if err != nil {
		t.Fatalf("open the server's store: %v", err)
	}
	defer st.Close()
	account, err := st.EnsureAccount(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := json.Marshal(map[string]any{"gpu_type": offer.GPUType, "gpu_count": offer.GPUCount, "contract_type": offer.ContractType, "instance_type": "seeded"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ids := make([]string, n)
	for i := range ids {
		offer.OfferID = uuid.New()
		body, err := json.Marshal(offer)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = offer.OfferID.String()
		created := now.Add(time.Duration(i-n) * time.Second)
		p := store.Procurement{
			OfferID: ids[i], AccountID: account.ID, Vendor: offer.Vendor, Offer: body, Item: []byte(`{}`),
			SSHPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDseeded seeded", Status: "ready", CreatedAt: created, UpdatedAt: created,
		}
		if err := st.InsertProcurement(ctx, p); err != nil {
			t.Fatalf("seed procurement %d: %v", i, err)
		}
		for node := range nodes {
			r := store.Resource{
				ID: uuid.NewString(), OfferID: ids[i], AccountID: account.ID, ResourceType: offer.Type, Vendor: offer.Vendor,
				VendorRegion: offer.VendorRegion, Name: fmt.Sprintf("seeded-%d-%d", i, node), NodeIndex: node, Status: "running",
				VendorInstanceID: fmt.Sprintf("seeded-%d-%d", i, node), ExternalIP: "127.0.0.1", SSHPort: 22, Spec: spec,
				PricePerHour: offer.TotalPricePerHour, ReadyAt: &created, LastSyncedAt: &now, CreatedAt: created, UpdatedAt: created,
			}
			if err := st.InsertResource(ctx, r); err != nil {
				t.Fatalf("seed resource %d/%d: %v", i, node, err)
			}
		}
	}
	return ids
}
