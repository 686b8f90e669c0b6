package standin

// HostPhase is what an instance's state, as a stand-in derives it from
// its clock, means for the instance's loopback host.
type HostPhase int

// The phases SyncHosts acts on.
const (
	// HostDown: the instance exists but does not run (booting, stopped,
	// terminating): it has no host.
	HostDown HostPhase = iota
	// HostRunning: the instance runs: its host serves.
	HostRunning
	// HostGone: the instance is gone for good: its host and its record go.
	HostGone
)

// Has reports whether instance id's host is open in this process.
func (h *Hosts) Has(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.byID[id]
	return ok
}

// Hosted reports whether instance id's loopback host runs in this process.
func (b *Base[S]) Hosted(id string) bool { return b.Hosts.Has(b.HostID(id)) }

// Machines are what SyncHosts needs of a stand-in's instance records of
// type R: where each one's phase stands now, where its host listened last,
// and the machine it runs.
type Machines[R any] struct {
	Phase   func(rec *R) HostPhase
	Addr    func(rec *R) (ip *string, port *int)
	Machine func(rec *R) Machine
}

// SyncHosts brings the hosts of a stand-in whose instances change state
// with the clock (not on a request) in line with records: an instance that
// came up gets its host, at its previous address when free (a move is
// written back), one that went down loses it, a gone one is removed from
// records with its host. It saves State when anything changed. The caller
// holds Mu.
func SyncHosts[S, R any](b *Base[S], records map[string]*R, m Machines[R]) error {
	changed := false
	for id, rec := range records {
		switch phase := m.Phase(rec); {
		case phase == HostGone:
			b.RemoveHost(id)
			delete(records, id)
			changed = true
		case phase == HostRunning && !b.Hosted(id):
			ip, port := m.Addr(rec)
			newIP, newPort, err := b.OpenHost(id, *ip, *port, m.Machine(rec))
			if err != nil {
				return err
			}
			if newIP != *ip || newPort != *port {
				*ip, *port, changed = newIP, newPort, true
			}
		case phase == HostDown && b.Hosted(id):
			b.CloseHost(id)
		}
	}
	if changed {
		return b.Save()
	}
	return nil
}
