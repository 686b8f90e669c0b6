package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpusupply/supply/internal/api"
	"github.com/gpusupply/supply/internal/apikeys"
	"github.com/gpusupply/supply/internal/provision"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// pollBench is the API over a real provision service and store holding
// 1,000 procurements of two running resources each, as TestLoadPolling
// has them, served in-process: what a poll costs the server alone, without
// the network, the load generator or another process's CPU.
type pollBench struct {
	handler http.Handler
	key     string
	offers  []string
}

func newPollBench(b *testing.B, engine string) *pollBench {
	b.Helper()
	ctx := context.Background()
	st := storetest.Open(b, engine)
	acct, err := st.EnsureAccount(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	key, _, hash, err := apikeys.Generate()
	if err != nil {
		b.Fatal(err)
	}
	auth := apikeys.NewAuthenticator(func(_ context.Context, h []byte) (apikeys.Key, []byte, error) {
		if !bytes.Equal(h, hash) {
			return apikeys.Key{}, nil, apikeys.ErrUnknownKey
		}
		return apikeys.Key{ID: 1, AccountID: acct.ID, Role: roles.Viewer}, hash, nil
	}, time.Minute)
	pb := &pollBench{key: key}
	spec, _ := json.Marshal(supplyapi.Spec{GPUType: "nvidia-h100-sxm5-80gb", GPUCount: 1, ContractType: "ondemand", InstanceType: "gpu_1x_h100"})
	created := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for i := range 1000 {
		offer := uuid.NewString()
		pb.offers = append(pb.offers, offer)
		body := fmt.Sprintf(`{"offer_id":%q,"gpu_type":"nvidia-h100-sxm5-80gb","created_at":"2026-12-01T11:59:00Z","vendor":"lambda"}`, offer)
		err := st.InsertProcurement(ctx, store.Procurement{OfferID: offer, AccountID: acct.ID, Vendor: "lambda", Offer: []byte(body),
			Item: []byte(`{}`), SSHPublicKey: "ssh-ed25519 AAAA bench", Status: "ready", CreatedAt: created, UpdatedAt: created})
		if err != nil {
			b.Fatal(err)
		}
		for node := range 2 {
			err := st.InsertResource(ctx, store.Resource{ID: uuid.NewString(), OfferID: offer, AccountID: acct.ID, ResourceType: "vm",
				Vendor: "lambda", VendorRegion: "us-east-1", Name: fmt.Sprintf("bench-%d-%d", i, node), NodeIndex: node,
				Status: supplyapi.ResourceRunning, VendorInstanceID: fmt.Sprintf("i-%d-%d", i, node), ExternalIP: "203.0.113.5",
				SSHPort: 22, Spec: spec, PricePerHour: 2.5, ReadyAt: &created, LastSyncedAt: &created, CreatedAt: created, UpdatedAt: created})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	svc := provision.New(provision.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	a := api.New(api.Config{
		Auth: auth, Provision: svc, Offers: svc, Ready: st.Ping, Metrics: prometheus.NewRegistry(),
		// A request line is formatted as the server's is, then dropped.
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	pb.handler = a.Handler()
	return pb
}

// get serves one GET and checks its status.
func (pb *pollBench) get(b *testing.B, path, ifNoneMatch string, want int) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+pb.key)
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	w := httptest.NewRecorder()
	pb.handler.ServeHTTP(w, req)
	if w.Code != want {
		b.Fatalf("GET %s: %d, want %d: %.200s", path, w.Code, want, w.Body)
	}
	return w
}

// BenchmarkPollOfferStatus is GET /offers/{id}/status over the 1,000
// procurements in turn, from 16 goroutines as TestLoadPolling's clients;
// "etag" sends the answer's ETag back, as a conditional poller would.
func BenchmarkPollOfferStatus(b *testing.B) {
	for _, engine := range storetest.Engines(b) {
		b.Run(engine, func(b *testing.B) {
			pb := newPollBench(b, engine)
			tags := make([]string, len(pb.offers))
			for i, o := range pb.offers {
				tags[i] = pb.get(b, "/offers/"+o+"/status", "", http.StatusOK).Header().Get("ETag")
			}
			for _, conditional := range []bool{false, true} {
				name, want := "plain", http.StatusOK
				if conditional {
					name, want = "etag", http.StatusNotModified
				}
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					b.SetParallelism(8) // 16 goroutines on 2 cores
					b.RunParallel(func(p *testing.PB) {
						i := 0
						for p.Next() {
							i++
							tag := ""
							if conditional {
								tag = tags[i%len(tags)]
							}
							pb.get(b, "/offers/"+pb.offers[i%len(pb.offers)]+"/status", tag, want)
						}
					})
				})
			}
		})
	}
}

// BenchmarkPollResources is GET /resources: all 2,000 resources, and the
// first page of 100.
func BenchmarkPollResources(b *testing.B) {
	for _, engine := range storetest.Engines(b) {
		b.Run(engine, func(b *testing.B) {
			pb := newPollBench(b, engine)
			for name, path := range map[string]string{"all": "/resources", "limit=100": "/resources?limit=100"} {
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						pb.get(b, path, "", http.StatusOK)
					}
				})
			}
		})
	}
}
