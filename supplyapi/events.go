package supplyapi

import (
	"encoding/json"
	"slices"
	"time"
)

// Event types, as Event.Type. A procurement's events carry its status (as
// GET /offers/{id}/status shows it); a resource's carry the resource (as
// GET /resources/{id} shows it).
const (
	EventProcurementStarted = "procurement.started"
	EventProcurementReady   = "procurement.ready"
	EventProcurementFailed  = "procurement.failed"
	// A procurement with a fallback: a try ended and the next is sought,
	// or no equivalent offer is in stock and it waits.
	EventProcurementAttemptFailed = "procurement.attempt_failed"
	EventProcurementWaiting       = "procurement.waiting"

	EventResourceCreated         = "resource.created"          // recorded, before any vendor call
	EventResourceInstanceCreated = "resource.instance_created" // the vendor named its instance
	EventResourceReady           = "resource.ready"            // reachable over SSH for the first time
	EventResourceRunning         = "resource.running"          // running again after unhealthy or preempted
	EventResourceUnhealthy       = "resource.unhealthy"
	EventResourcePreempted       = "resource.preempted"
	EventResourceFailed          = "resource.failed"
	EventResourceCleanedUp       = "resource.cleaned_up" // a failed resource's instance is confirmed gone
	EventResourceDeleting        = "resource.deleting"
	EventResourceDeleted         = "resource.deleted"
	EventResourceAutoDeleted     = "resource.auto_deleted" // deletion started by the resource's own limits, not a request
	EventResourceDeletionStuck   = "resource.deletion_stuck"
)

// EventTypes lists every event type, for validating subscriptions.
var EventTypes = []string{
	EventProcurementStarted, EventProcurementReady, EventProcurementFailed, EventProcurementAttemptFailed,
	EventProcurementWaiting, EventResourceCreated, EventResourceInstanceCreated, EventResourceReady,
	EventResourceRunning, EventResourceUnhealthy, EventResourcePreempted, EventResourceFailed,
	EventResourceCleanedUp, EventResourceDeleting, EventResourceDeleted, EventResourceAutoDeleted,
	EventResourceDeletionStuck,
	EventResourceStopping, EventResourceStopped, EventResourceStarting,
	EventVolumeCreated, EventVolumeAvailable, EventVolumeFailed, EventVolumeDeleting, EventVolumeDeleted, EventVolumeGone,
}

// KnownEventType reports whether t is one of EventTypes.
func KnownEventType(t string) bool { return slices.Contains(EventTypes, t) }

// Event is one event of an account: an event of GET /events, a line of its
// stream and the body of a webhook delivery (the component Message).
type Event struct {
	ID         int64           `json:"id"`
	Type       string          `json:"type"`
	Timestamp  time.Time       `json:"timestamp"`
	ResourceID string          `json:"resource_id,omitempty"`
	OfferID    string          `json:"offer_id"`
	Data       json.RawMessage `json:"data"`
	// Actor is the API key whose request made the change, or, for a
	// change the service made on its own (a machine became ready), the
	// key that procured the resource; absent when neither is known.
	Actor *Actor `json:"actor,omitempty"`
}

// EventPage is a page of GET /events as JSON.
type EventPage struct {
	Events []Event `json:"events" nullable:"false"`
	// LastID is the id to pass as after for the next page.
	LastID  int64 `json:"last_id"`
	HasMore bool  `json:"has_more"`
}

// WebhookRequest is the body of POST /webhooks.
type WebhookRequest struct {
	URL        string   `json:"url" minLength:"1" maxLength:"2048" doc:"Where events are POSTed (http or https)"`
	EventTypes []string `json:"event_types,omitempty" maxItems:"50" doc:"Only these event types (default: every type)"`
}

// WebhookInfo is a webhook as POST /webhooks and GET /webhooks answer it;
// Secret is set only in the answer that created it.
type WebhookInfo struct {
	ID             string     `json:"id" format:"uuid"`
	URL            string     `json:"url"`
	EventTypes     []string   `json:"event_types" nullable:"false" doc:"Empty: every type"`
	Secret         string     `json:"secret,omitempty" doc:"Signing secret (Standard Webhooks, whsec_...), shown only at creation"`
	CreatedAt      time.Time  `json:"created_at"`
	Enabled        bool       `json:"enabled"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason *string    `json:"disabled_reason"`
}

// DeliveryInfo is one event sent to a webhook, with every attempt, as GET
// /webhooks/{webhook_id}/deliveries lists it.
type DeliveryInfo struct {
	ID             int64             `json:"id"`
	EventID        int64             `json:"event_id"`
	EventType      string            `json:"event_type"`
	State          string            `json:"state" enum:"pending,delivered,failed"`
	Attempts       []DeliveryAttempt `json:"attempts" nullable:"false"`
	LastStatusCode *int64            `json:"last_status_code"`
	LastError      *string           `json:"last_error"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
}

// DeliveryAttempt is one HTTP request of a delivery (the component
// AttemptInfo).
type DeliveryAttempt struct {
	Attempt    int64     `json:"attempt"`
	StatusCode *int64    `json:"status_code" doc:"null when no answer came"`
	Error      *string   `json:"error"`
	DurationMs int64     `json:"duration_ms"`
	At         time.Time `json:"at"`
}

// SessionInfo is a sign-in to the web console, as GET /sessions lists it.
type SessionInfo struct {
	ID         int64     `json:"id"`
	KeyPrefix  string    `json:"key_prefix" doc:"The first characters of the API key the session was opened with"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at" doc:"When the session was last used, to the minute"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent" doc:"The browser's User-Agent at sign-in, cut to 200 bytes"`
	Address    string    `json:"address" doc:"The address the sign-in came from"`
	Current    bool      `json:"current" doc:"Whether this request was made with this session"`
}
