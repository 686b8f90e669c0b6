package api

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/supplyapi"
)

func (s *provisionService) Stop(_ context.Context, accountID int64, id uuid.UUID) (supplyapi.PowerResponse, error) {
	a := s.call(provisionCall{method: "Stop", accountID: accountID, id: id})
	return supplyapi.PowerResponse(a.deleted), a.err
}

func (s *provisionService) Start(_ context.Context, accountID int64, id uuid.UUID) (supplyapi.PowerResponse, error) {
	a := s.call(provisionCall{method: "Start", accountID: accountID, id: id})
	return supplyapi.PowerResponse(a.deleted), a.err
}

// TestStopStart checks the routes of stop and start: the answer, the
// call that reaches the service, and how its refusals are answered (a
// vendor without stop is a 422 naming it, a resource not running a 409).
func TestStopStart(t *testing.T) {
	ts := newTestServer(t, 0)
	for _, verb := range []string{"stop", "start"} {
		t.Run(verb, func(t *testing.T) {
			ts.provision.answer(provisionAnswers{deleted: supplyapi.DeleteResourceResponse{ResourceID: resID, Status: verb + "ing", Message: "ok"}})
			r := ts.do(t, http.MethodPost, "/resources/"+resID.String()+"/"+verb, "", "", "Bearer "+ts.key)
			wantJSON(t, r, 200, `{"resource_id":"22222222-2222-4222-8222-222222222222","status":"`+verb+`ing","message":"ok"}`)
			if c := ts.provision.lastCall(); c.method != map[string]string{"stop": "Stop", "start": "Start"}[verb] || c.id != resID || c.accountID != testAccount {
				t.Errorf("reached the service as %+v", c)
			}
			ts.provision.answer(provisionAnswers{err: &offers.QueryError{Loc: []any{"path", "resource_id"}, Type: "value_error",
				Msg: "Value error, vendor lambda does not support stop and start (supports_stop is false)", Input: resID.String()}})
			r = ts.do(t, http.MethodPost, "/resources/"+resID.String()+"/"+verb, "", "", "Bearer "+ts.key)
			wantJSON(t, r, 422, `{"detail":[{"type":"value_error","loc":["path","resource_id"],
				"msg":"Value error, vendor lambda does not support stop and start (supports_stop is false)","input":"22222222-2222-4222-8222-222222222222"}]}`)
			ts.provision.answer(provisionAnswers{err: refusal.Errorf(refusal.ErrConflict, "Resource x is deleting")})
			r = ts.do(t, http.MethodPost, "/resources/"+resID.String()+"/"+verb, "", "", "Bearer "+ts.key)
			wantJSON(t, r, 409, `{"detail":"Resource x is deleting"}`)
			r = ts.do(t, http.MethodPost, "/resources/res-1/"+verb, "", "", "Bearer "+ts.key)
			if r.status != 422 {
				t.Errorf("a malformed id: %d %s", r.status, r.body)
			}
		})
	}
}
