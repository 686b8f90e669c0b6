package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
	"github.com/gpusupply/supply/supplyapi"
)

// TestOpenPortsThroughTheBinary: through the real binary on both engines,
// GET /available_vendors says which vendors open ports; a procurement's
// open_ports are reachable on the sandbox machine where its instance's
// ports say (RunPod's mapped port on a pod), a port not asked for is
// closed, and bad entries or a vendor without ports are 422s in FastAPI's
// shape naming the entry.
func TestOpenPortsThroughTheBinary(t *testing.T) {
	for _, engine := range []string{store.EngineSQLite, store.EnginePostgres} {
		t.Run(engine, func(t *testing.T) {
			s := Start(t, engine, "--sandbox-boot-time", "1s")
			requireDocumented(t, s.WaitVendors(t), "supports_ports", opensPorts)
			_, public := renterKey(t, t.TempDir(), "ports")
			procure := func(vendor, ports string) (int, []byte, supplyapi.Offer) {
				o := offerOf(t, s, vendor, 0)
				body := fmt.Sprintf(`{"offer_id": %q, "ssh_public_key": %q, "open_ports": %s}`, o.OfferID, public, ports)
				code, _, answer := s.Do(t, http.MethodPost, "/procure_offer", "application/json", []byte(body))
				return code, answer, o
			}
			for _, c := range []struct{ vendor, ports, loc, msg string }{
				{"lambda", `[8888, 0]`, `["body","open_ports",1]`, "out of range"},
				{"lambda", `["9000-8000"]`, `["body","open_ports",0]`, "ends before it starts"},
				{"lambda", `["8888/sctp"]`, `["body","open_ports",0]`, "only tcp and udp"},
				{"verda", `[8888]`, `["body","open_ports"]`, "Verda (formerly DataCrunch) does not open ports"},
			} {
				code, answer, _ := procure(c.vendor, c.ports)
				var e struct {
					Detail []struct {
						Loc json.RawMessage `json:"loc"`
						Msg string          `json:"msg"`
					} `json:"detail"`
				}
				if err := json.Unmarshal(answer, &e); code != http.StatusUnprocessableEntity || err != nil || len(e.Detail) != 1 ||
					string(e.Detail[0].Loc) != c.loc || !strings.Contains(e.Detail[0].Msg, c.msg) {
					t.Errorf("%s %s: %d %s, want a 422 at %s", c.vendor, c.ports, code, answer, c.loc)
				}
			}
			for _, vendor := range []string{"lambda", "runpod", "scaleway", "vultr", "aws"} {
				code, answer, o := procure(vendor, `[8888, "6006/tcp"]`)
				if code != http.StatusOK {
					t.Fatalf("%s: %d %s", vendor, code, answer)
				}
				st := pollStatus(t, s, o.OfferID, time.Minute, settled)
				if st.ProcurementStatus != supplyapi.ProcurementReady || len(st.Instances[0].Ports) != 2 {
					t.Fatalf("%s: %+v", vendor, st)
				}
				in := st.Instances[0]
				for _, p := range in.Ports {
					if p.Host == nil || p.PublicPort == nil || *p.Host != *in.ExternalIP {
						t.Fatalf("%s: port %+v", vendor, p)
					}
					want := fmt.Sprintf("port %d/%s", p.Port, p.Protocol)
					if got := vendortest.Knock(t, *p.Host, *p.PublicPort, p.Protocol); !strings.Contains(got, want) {
						t.Errorf("%s: %s:%d answered %q, want %q", vendor, *p.Host, *p.PublicPort, got, want)
					}
				}
				// The list has them too (its summaries are written from cached
				// bytes, cut before accrued_cost).
				var list []supplyapi.ResourceSummary
				s.JSON(t, http.MethodGet, "/resources?offer_id="+o.OfferID.String(), "", nil, http.StatusOK, &list)
				if len(list) != 1 || len(list[0].Ports) != 2 || *list[0].Ports[0].PublicPort != *in.Ports[0].PublicPort {
					t.Errorf("%s: GET /resources lists %+v", vendor, list)
				}
				if c, err := net.DialTimeout("tcp", *in.ExternalIP+":8889", time.Second); err == nil {
					c.Close()
					t.Errorf("%s: port 8889 open on %s, never asked for", vendor, *in.ExternalIP)
				}
			}
		})
	}
}
