package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/supplyapi"
)

// TestAutoDeleteSurvivesKill procures two sandbox machines to be deleted
// 5 s later: one while the server runs on, one while the server is
// killed with SIGKILL before its time comes and restarted after it has
// passed. Both become deleted, confirmed by the vendor, within seconds of
// their time (or of the restart), and cost what their seconds cost.
func TestAutoDeleteSurvivesKill(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := Start(t, engine, "--sandbox-boot-time", "1s")
			s.WaitVendors(t)
			picked := pickOffers(t, s, 8)

			// procure takes the first of the offers left that procures, as
			// sandbox stock moves.
			procure := func(after string) (uuid.UUID, supplyapi.Offer, time.Time) {
				t.Helper()
				for len(picked) > 0 {
					o := picked[0]
					picked = picked[1:]
					body := fmt.Sprintf(`{"offer_id":%q,"ssh_public_key":%q,"auto_delete_after":%s}`, o.OfferID, crashKey, after)
					start := time.Now()
					code, _, b := s.Do(t, http.MethodPost, "/procure_offer", "application/json", []byte(body))
					if code != http.StatusOK {
						continue
					}
					var resp supplyapi.ProcureOfferResponse
					if err := json.Unmarshal(b, &resp); err != nil || len(resp.ResourceIDs) != 1 {
						t.Fatalf("procure answered %s", b)
					}
					if st := waitOffer(t, s, o.OfferID); st == supplyapi.ProcurementReady {
						return resp.ResourceIDs[0], o, start
					}
				}
				t.Fatal("no offer could be procured")
				return uuid.Nil, supplyapi.Offer{}, time.Time{}
			}

			// The server runs on.
			id, o, start := procure(`"5s"`)
			r := resourceOf(t, s, id)
			if r.DeleteAt == nil || r.DeleteAt.Sub(start) < 4*time.Second || r.DeleteAt.Sub(start) > 6*time.Second {
				t.Fatalf("delete_at %v, want 5 s after %s", r.DeleteAt, start)
			}
			deleteAt := *r.DeleteAt
			r = waitDeleted(t, s, id, 20*time.Second)
			if r.DeleteAt != nil {
				t.Errorf("a deleted resource shows delete_at %v", r.DeleteAt)
			}
			late := time.Since(deleteAt)
			t.Logf("%s: deleted (as seen by polling) %s after its delete_at", engine, late.Round(100*time.Millisecond))
			if late > 8*time.Second {
				t.Errorf("deleted %s after its delete_at", late)
			}
			if live := liveAtVendor(t, s, id); live != 0 {
				t.Errorf("auto-deleted, but %d instances live at the vendor", live)
			}
			wantCost(t, r, o)

			// Killed before its time, restarted after it.
			id, o, _ = procure(`5`)
			r = resourceOf(t, s, id)
			s.Kill(t)
			time.Sleep(time.Until(r.DeleteAt.Add(time.Second)))
			s.Restart(t)
			restarted := time.Now()
			r = waitDeleted(t, s, id, 20*time.Second)
			t.Logf("%s: deleted %s after the restart", engine, time.Since(restarted).Round(100*time.Millisecond))
			if live := liveAtVendor(t, s, id); live != 0 {
				t.Errorf("auto-deleted across a crash, but %d instances live at the vendor", live)
			}
			if r.StatusMessage == nil || !strings.Contains(*r.StatusMessage, "vendor confirmed") {
				t.Errorf("status message %v", r.StatusMessage)
			}
		})
	}
}

// TestSpendCapsRefuseBeforeTheVendor sets an account's caps with the
// server-side command and checks that a procurement over either is a 403
// that names the cap, the live figure and the offer's price, and that no
// vendor saw it.
func TestSpendCapsRefuseBeforeTheVendor(t *testing.T) {
	s := Start(t, "sqlite")
	s.WaitVendors(t)
	o := pickOffers(t, s, 1)[0]
	body := []byte(fmt.Sprintf(`{"offer_id":%q,"ssh_public_key":%q}`, o.OfferID, crashKey))

	out := s.Command(t, "accounts", "limits", "default", "--max-hourly", "0.5", "--max-gpus", "16")
	if out != "account default: max hourly spend 0.5, max GPUs 16\n" {
		t.Fatalf("accounts limits: %q", out)
	}
	var acc supplyapi.AccountInfo
	s.JSON(t, http.MethodGet, "/account", "", nil, http.StatusOK, &acc)
	if acc.Name != "default" || *acc.Limits.MaxHourlyUSD != 0.5 || *acc.Limits.MaxGPUCount != 16 || acc.Live.Resources != 0 {
		t.Fatalf("GET /account: %+v", acc)
	}
	wantRefused := func(sentence string) {
		t.Helper()
		code, _, b := s.Do(t, http.MethodPost, "/procure_offer", "application/json", body)
		var e struct{ Detail string }
		if code != http.StatusForbidden || json.Unmarshal(b, &e) != nil || !strings.Contains(e.Detail, sentence) {
			t.Fatalf("procurement over a cap: %d %s, want 403 saying %q", code, b, sentence)
		}
	}
	wantRefused(fmt.Sprintf("cap on live hourly spend of $0.50 per hour: its live resources cost $0.00 per hour now and this offer costs $%.2f per hour", o.TotalPricePerHour))

	s.Command(t, "accounts", "limits", "default", "--max-hourly", "none", "--max-gpus", "0")
	wantRefused(fmt.Sprintf("cap of 0 live GPUs: its live resources hold 0 GPUs now and this offer has %d (at $%.2f per hour)", o.GPUCount, o.TotalPricePerHour))

	// A vendor is only ever called by the job of a recorded resource,
	// which a refusal never writes: no resource, no call.
	var list []supplyapi.ResourceSummary
	s.JSON(t, http.MethodGet, "/resources", "", nil, http.StatusOK, &list)
	var console []standin.ConsoleEntry
	s.JSON(t, http.MethodGet, "/sandbox/instances", "", nil, http.StatusOK, &console)
	if len(console) != 0 || len(list) != 0 {
		t.Fatalf("refused procurements reached the vendors (%d instances) or the database (%d resources)", len(console), len(list))
	}

	// A cap below zero is refused by the command, naming the flag.
	cmd := exec.Command(Binary(t), "accounts", "limits", "default", "--max-hourly", "-1")
	cmd.Env = s.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), `--max-hourly "-1": want a number of at least 0`) {
		t.Fatalf("negative cap: %v, %q", err, stderr.String())
	}

	// Lifted, the offer is procured.
	s.Command(t, "accounts", "limits", "default", "--max-gpus", "none")
	if code, _, b := s.Do(t, http.MethodPost, "/procure_offer", "application/json", body); code != http.StatusOK {
		t.Fatalf("procurement without caps: %d %s", code, b)
	}
	s.JSON(t, http.MethodGet, "/account", "", nil, http.StatusOK, &acc)
	if acc.Live.Resources != 1 || acc.Live.GPUCount != int64(o.GPUCount) || acc.Limits.MaxGPUCount != nil {
		t.Fatalf("GET /account after a procurement: %+v", acc)
	}
}

// TestGuardrailsRefuseBadInput checks the 422s of the guardrail fields.
func TestGuardrailsRefuseBadInput(t *testing.T) {
	s := Start(t, "sqlite", "--max-auto-delete", "48h")
	s.WaitVendors(t)
	o := pickOffers(t, s, 1)[0]
	for _, tt := range []struct{ value, msg string }{
		{`"soon"`, `auto_delete_after must be a duration such as \"4h\"`},
		{`"-5m"`, "auto_delete_after must be longer than zero"},
		{`-3`, "auto_delete_after must be longer than zero"},
		{`"49h"`, "auto_delete_after must be at most 48h0m0s"},
		{`true`, `"loc":["body","auto_delete_after"]`},
	} {
		body := fmt.Sprintf(`{"offer_id":%q,"ssh_public_key":%q,"auto_delete_after":%s}`, o.OfferID, crashKey, tt.value)
		code, _, b := s.Do(t, http.MethodPost, "/procure_offer", "application/json", []byte(body))
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"loc":["body","auto_delete_after"]`) || !strings.Contains(string(b), tt.msg) {
			t.Errorf("auto_delete_after %s: %d %s, want 422 saying %q", tt.value, code, b, tt.msg)
		}
	}
	id := uuid.New()
	for _, body := range []string{`{}`, `{"auto_delete_after":"soon"}`, `{"delete_at":null}`} {
		code, _, b := s.Do(t, http.MethodPatch, "/resources/"+id.String(), "application/json", []byte(body))
		if code != http.StatusUnprocessableEntity {
			t.Errorf("PATCH %s: %d %s, want 422", body, code, b)
		}
	}
	if code, _, b := s.Do(t, http.MethodPatch, "/resources/"+id.String(), "application/json", []byte(`{"auto_delete_after":"2h"}`)); code != http.StatusNotFound {
		t.Errorf("PATCH of an unknown resource: %d %s, want 404", code, b)
	}
	for _, q := range []string{"from=yesterday", "group_by=week", "from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z"} {
		if code, _, b := s.Do(t, http.MethodGet, "/usage?"+q, "", nil); code != http.StatusUnprocessableEntity {
			t.Errorf("GET /usage?%s: %d %s, want 422", q, code, b)
		}
	}
	var u supplyapi.Usage
	s.JSON(t, http.MethodGet, "/usage?group_by=vendor", "", nil, http.StatusOK, &u)
	if u.TotalCost != 0 || len(u.Groups) != 0 || u.Currency != "USD" {
		t.Errorf("usage of a new account: %+v", u)
	}
}

func resourceOf(t *testing.T, s *Server, id uuid.UUID) supplyapi.ResourceSummary {
	t.Helper()
	var r supplyapi.ResourceSummary
	s.JSON(t, http.MethodGet, "/resources/"+id.String(), "", nil, http.StatusOK, &r)
	return r
}

// waitOffer waits until an offer's procurement is ready or failed.
func waitOffer(t *testing.T, s *Server, id uuid.UUID) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var st supplyapi.OfferStatusResponse
		s.JSON(t, http.MethodGet, "/offers/"+id.String()+"/status", "", nil, http.StatusOK, &st)
		if st.ProcurementStatus == supplyapi.ProcurementReady || st.ProcurementStatus == supplyapi.ProcurementFailed {
			return st.ProcurementStatus
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("offer %s never became ready\n%s", id, s.tail())
	return ""
}

func waitDeleted(t *testing.T, s *Server, id uuid.UUID, limit time.Duration) supplyapi.ResourceSummary {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		r := resourceOf(t, s, id)
		if r.Status == supplyapi.ResourceDeleted {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("resource %s is %s %v, not deleted, %s after waiting\n%s", id, r.Status, r.StatusMessage, limit, s.tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// liveAtVendor counts the resource's live instances in the sandbox console.
func liveAtVendor(t *testing.T, s *Server, id uuid.UUID) int {
	t.Helper()
	var console []standin.ConsoleEntry
	code, _, b := s.Do(t, http.MethodGet, "/sandbox/instances", "", nil)
	if code != http.StatusOK || json.Unmarshal(b, &console) != nil {
		return -1
	}
	n := 0
	for _, in := range console {
		if in.Live && vendors.ResourceIDFromName(in.Name) == id.String() {
			n++
		}
	}
	return n
}

// wantCost checks a deleted resource's accrued cost against its price
// over the seconds it lived.
func wantCost(t *testing.T, r supplyapi.ResourceSummary, o supplyapi.Offer) {
	t.Helper()
	lived := r.ValidTo.Sub(r.CreatedAt).Hours()
	if r.AccruedCost <= 0 || r.AccruedCost > o.TotalPricePerHour*lived+0.0001 {
		t.Errorf("accrued cost %v, want at most $%v/h × %.4f h", r.AccruedCost, o.TotalPricePerHour, lived)
	}
}
