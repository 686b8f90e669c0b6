package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store/storetest"
)

// BenchmarkOfferStatusQueries is the store's part of a GET
// /offers/{id}/status poll, the procurement and its resources, with 1,000
// procurements of two resources each in the database.
func BenchmarkOfferStatusQueries(b *testing.B) {
	for _, engine := range storetest.Engines(b) {
		b.Run(engine, func(b *testing.B) {
			ctx := context.Background()
			s := storetest.Open(b, engine)
			acct, err := s.EnsureAccount(ctx, "bench")
			if err != nil {
				b.Fatal(err)
			}
			const n = 1000
			offers := make([]string, n)
			for i := range offers {
				offers[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
				if err := s.InsertProcurement(ctx, testProcurement(acct.ID, offers[i])); err != nil {
					b.Fatal(err)
				}
				for node := range 2 {
					id := fmt.Sprintf("10000000-0000-4000-8000-%06d%06d", i, node)
					if err := s.InsertResource(ctx, testResource(acct.ID, offers[i], id, base.Add(time.Duration(i)*time.Second))); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				offer := offers[i%n]
				i++
				p, err := s.ProcurementByOffer(ctx, offer)
				if err != nil || p.AccountID != acct.ID {
					b.Fatal(p, err)
				}
				rs, err := s.ResourcesByOffer(ctx, offer)
				if err != nil || len(rs) != 2 {
					b.Fatal(len(rs), err)
				}
			}
		})
	}
}
