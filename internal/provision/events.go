package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gpusupply/supply/internal/actor"
	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// recordingStore is the store as the Service uses it: every write of a
// resource or procurement through it, in a transaction or not, appends the
// matching event in the same transaction. It is the one place events are
// made, so no path that changes a resource can forget its event.
type recordingStore struct {
	store.Store
	s *Service
}

// InTx runs fn in a transaction whose writes record their events; the
// events are appended after fn's other writes, just before commit, and the
// streams following the accounts are woken after it.
func (rs recordingStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	var accounts []int64
	err := rs.Store.InTx(ctx, func(tx store.Tx) error {
		rt := &recordingTx{Tx: tx}
		if err := fn(rt); err != nil {
			return err
		}
		var err error
		accounts, err = rs.s.appendEvents(ctx, rt)
		return err
	})
	if err == nil {
		for _, a := range accounts {
			rs.s.events.Notify(a)
		}
	}
	return err
}

func (rs recordingStore) UpdateResource(ctx context.Context, r store.Resource) (out store.Resource, err error) {
	err = rs.InTx(ctx, func(tx store.Tx) error {
		out, err = tx.UpdateResource(ctx, r)
		return err
	})
	return out, err
}

func (rs recordingStore) InsertResource(ctx context.Context, r store.Resource) error {
	return rs.InTx(ctx, func(tx store.Tx) error { return tx.InsertResource(ctx, r) })
}

func (rs recordingStore) InsertProcurement(ctx context.Context, p store.Procurement) error {
	return rs.InTx(ctx, func(tx store.Tx) error { return tx.InsertProcurement(ctx, p) })
}

func (rs recordingStore) UpdateProcurement(ctx context.Context, p store.Procurement) (out store.Procurement, err error) {
	err = rs.InTx(ctx, func(tx store.Tx) error {
		out, err = tx.UpdateProcurement(ctx, p)
		return err
	})
	return out, err
}

// recordingTx notes the event of each write; appendEvents renders and
// stores them at the end of the transaction.
type recordingTx struct {
	store.Tx
	noted []notedEvent
}

// notedEvent is an event to append: what happened, to a resource as
// written or to a procurement.
type notedEvent struct {
	typ       string
	accountID int64
	resource  *store.Resource // nil for a procurement's events
	offerID   string
}

func (t *recordingTx) noteResource(typ string, r store.Resource) {
	t.noted = append(t.noted, notedEvent{typ: typ, accountID: r.AccountID, resource: &r, offerID: r.OfferID})
}

func (t *recordingTx) noteProcurement(typ string, accountID int64, offerID string) {
	t.noted = append(t.noted, notedEvent{typ: typ, accountID: accountID, offerID: offerID})
}

func (t *recordingTx) UpdateResource(ctx context.Context, r store.Resource) (store.Resource, error) {
	before, err := t.Tx.ResourceByID(ctx, r.ID)
	if err != nil {
		return store.Resource{}, err
	}
	if before.Version != r.Version {
		// The write would lose; not writing keeps before the row r was
		// made from, which the event's type is read from.
		return store.Resource{}, fmt.Errorf("update resource %s: it is at version %d, not %d: %w", r.ID, before.Version, r.Version, store.ErrConflict)
	}
	after, err := t.Tx.UpdateResource(ctx, r)
	if err != nil {
		return store.Resource{}, err
	}
	if typ := resourceEventType(before, after); typ != "" {
		t.noteResource(typ, after)
	}
	return after, nil
}
func (t *recordingTx) InsertResource(ctx context.Context, r store.Resource) error {
	if err := t.Tx.InsertResource(ctx, r); err != nil {
		return err
	}
	t.noteResource(supplyapi.EventResourceCreated, r)
	return nil
}

func (t *recordingTx) InsertProcurement(ctx context.Context, p store.Procurement) error {
	if err := t.Tx.InsertProcurement(ctx, p); err != nil {
		return err
	}
	t.noteProcurement(supplyapi.EventProcurementStarted, p.AccountID, p.OfferID)
	return nil
}

func (t *recordingTx) UpdateProcurement(ctx context.Context, p store.Procurement) (store.Procurement, error) {
	before, err := t.Tx.ProcurementByOffer(ctx, p.OfferID)
	if err != nil {
		return store.Procurement{}, err
	}
	if before.Version != p.Version {
		return store.Procurement{}, fmt.Errorf("update procurement %s: it is at version %d, not %d: %w", p.OfferID, before.Version, p.Version, store.ErrConflict)
	}
	after, err := t.Tx.UpdateProcurement(ctx, p)
	if err != nil {
		return after, err
	}
	if typ := procurementEventType(before, after); typ != "" {
		t.noteProcurement(typ, after.AccountID, after.OfferID)
	}
	return after, nil
}

// procurementEventType names what changed from before to after, or ""
// when nothing a client follows did (a waiting procurement's next look).
func procurementEventType(before, after store.Procurement) string {
	switch {
	case before.Status != after.Status && after.Status == store.ProcurementReady:
		return supplyapi.EventProcurementReady
	case before.Status != after.Status && after.Status == store.ProcurementFailed:
		return supplyapi.EventProcurementFailed
	case before.Phase != after.Phase && after.Phase == store.PhaseSwitching:
		return supplyapi.EventProcurementAttemptFailed
	case before.Phase != after.Phase && after.Phase == store.PhaseWaiting:
		return supplyapi.EventProcurementWaiting
	}
	return ""
}

// errNotRecording is recordEvent's error for a transaction the Service's
// store did not open.
var errNotRecording = errors.New("record event: the transaction does not record events (open it with the Service's store)")

// recordEvent records an event of type typ about r in tx, besides the ones
// its writes record themselves: for what a write cannot tell, such as a
// deletion the resource's own limits started (supplyapi.EventResourceAutoDeleted).
// tx must come from the Service's store.
func recordEvent(tx store.Tx, typ string, r store.Resource) error {
	rt, ok := tx.(*recordingTx)
	if !ok {
		return errNotRecording
	}
	rt.noteResource(typ, r)
	return nil
}

// stuckPrefix starts the status message of a deletion that has failed for
// longer than DeleteWarnAfter (noteDeleteTrouble).
const stuckPrefix = "STUCK:"

// resourceEventType names what changed from before to after, or "" when
// nothing a client follows did (a sync that found nothing new, a create
// attempt noted).
func resourceEventType(before, after store.Resource) string {
	if before.Status != after.Status {
		switch after.Status {
		case supplyapi.ResourceRunning:
			if before.Status == supplyapi.ResourceProvisioning {
				return supplyapi.EventResourceReady
			}
			return supplyapi.EventResourceRunning
		case supplyapi.ResourceUnhealthy:
			return supplyapi.EventResourceUnhealthy
		case supplyapi.ResourcePreempted:
			return supplyapi.EventResourcePreempted
		case supplyapi.ResourceFailed:
			return supplyapi.EventResourceFailed
		case supplyapi.ResourceDeleting:
			return supplyapi.EventResourceDeleting
		case supplyapi.ResourceDeleted:
			return supplyapi.EventResourceDeleted
		case supplyapi.ResourceStopping:
			return supplyapi.EventResourceStopping
		case supplyapi.ResourceStopped:
			return supplyapi.EventResourceStopped
		case supplyapi.ResourceStarting:
			return supplyapi.EventResourceStarting
		}
		return ""
	}
	switch {
	case before.VendorInstanceID == "" && after.VendorInstanceID != "":
		return supplyapi.EventResourceInstanceCreated
	case after.Status == supplyapi.ResourceFailed && before.DeletedAt == nil && after.DeletedAt != nil:
		return supplyapi.EventResourceCleanedUp
	case after.Status == supplyapi.ResourceDeleting && strings.HasPrefix(after.StatusMessage, stuckPrefix) &&
		!strings.HasPrefix(before.StatusMessage, stuckPrefix):
		return supplyapi.EventResourceDeletionStuck
	}
	return ""
}

// appendEvents renders the events tx noted, each with its object's state
// right after the change (a procurement's at the end of the transaction),
// appends them and returns the accounts they belong to.
func (s *Service) appendEvents(ctx context.Context, tx *recordingTx) ([]int64, error) {
	if len(tx.noted) == 0 {
		return nil, nil
	}
	byAccount := map[int64][]store.Event{}
	var accounts []int64
	names := map[int64]string{} // key names read in this transaction
	for _, n := range tx.noted {
		data, err := s.eventData(ctx, tx.Tx, n)
		if err != nil {
			return nil, err
		}
		if _, ok := byAccount[n.accountID]; !ok {
			accounts = append(accounts, n.accountID)
		}
		e := store.Event{Type: n.typ, OfferID: n.offerID, Data: data}
		if n.resource != nil {
			e.ResourceID = n.resource.ID
		}
		if e.ActorKeyID, e.ActorName, e.ActorTool, err = eventActor(ctx, tx.Tx, n, names); err != nil {
			return nil, err
		}
		byAccount[n.accountID] = append(byAccount[n.accountID], e)
	}
	for _, a := range accounts {
		if err := s.events.Append(ctx, tx.Tx, a, byAccount[a]); err != nil {
			return nil, err
		}
	}
	return accounts, nil
}

// eventActor is the key an event names: the one whose request made the
// change (and the MCP tool that made the request, if one did), or, for a
// change the service made on its own, the one that procured the resource;
// nil when neither is known. names caches key names by id.
func eventActor(ctx context.Context, q store.Queries, n notedEvent, names map[int64]string) (*int64, string, string, error) {
	if who, ok := actor.From(ctx); ok {
		return &who.KeyID, who.Name, who.Tool, nil
	}
	var id int64
	if n.resource != nil {
		id = n.resource.CreatedBy
	} else {
		var err error
		if id, err = procuredBy(ctx, q, n.offerID); err != nil {
			return nil, "", "", err
		}
	}
	if id == 0 {
		return nil, "", "", nil
	}
	name, ok := names[id]
	if !ok {
		k, err := q.APIKeyByID(ctx, id)
		if err != nil {
			return nil, "", "", fmt.Errorf("actor of an event: %w", err)
		}
		name, names[id] = k.Name, k.Name
	}
	return &id, name, "", nil
}

// eventData is the object of an event as the API shows it (rendered by
// the ledger, through the transaction): the resource, or the
// procurement's status.
func (s *Service) eventData(ctx context.Context, q store.Queries, n notedEvent) ([]byte, error) {
	var v any
	if n.resource != nil {
		var err error
		if v, err = ledger.Summary(ctx, q, *n.resource, s.now()); err != nil {
			return nil, err
		}
	} else {
		p, err := q.ProcurementByOffer(ctx, n.offerID)
		if err != nil {
			return nil, err
		}
		if v, err = ledger.Status(ctx, q, p); err != nil {
			return nil, err
		}
	}
	return json.Marshal(v)
}
