package digitalocean

import (
	"net/http"
	"time"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// dropletAction carries out power_off and power_on at once (a real
// Droplet takes seconds) and answers 201 with the action, completed.
// Other action types are not the stand-in's.
func (s *StandIn) dropletAction(w http.ResponseWriter, r *http.Request) {
	var req actionRequest
	if !decode(w, r, &req) {
		return
	}
	s.locked(w, func(now time.Time) {
		rec := s.State.Droplets[r.PathValue("id")]
		if rec == nil {
			writeError(w, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
			return
		}
		status := s.status(rec, now)
		switch {
		case req.Type != "power_off" && req.Type != "power_on":
			writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "The stand-in powers Droplets off and on only.")
			return
		case status == statusNew:
			writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "Droplet is currently being created.")
			return
		case req.Type == "power_off" && status == statusOff:
			writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "Droplet is already powered off.")
			return
		case req.Type == "power_on" && status == statusActive:
			writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "Droplet is already powered on.")
			return
		}
		rec.Off = req.Type == "power_off"
		if err := s.refresh(); err != nil {
			writeError(w, http.StatusInternalServerError, "server_error", "Server Error: "+err.Error())
			return
		}
		if !s.Saved(w) {
			return
		}
		s.State.NextID++
		at := now.UTC().Format(time.RFC3339)
		standin.WriteJSON(w, http.StatusCreated, actionAnswer{Action: actionBody{
			ID: 8000000 + s.State.NextID, Status: "completed", Type: req.Type, StartedAt: at, CompletedAt: &at,
			ResourceID: rec.ID, ResourceType: "droplet", Region: s.region(rec), RegionSlug: rec.Region,
		}})
	})
}
