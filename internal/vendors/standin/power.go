package standin

import "time"

// Power is where a machine that was asked to stop or start stands.
type Power int

// Where a machine stands after a stop or a start.
const (
	// Unpowered: neither was asked; its creation decides its state.
	Unpowered Power = iota
	Stopping
	Stopped
	Starting
	Running
)

// PowerAt is where a machine stands at now, given its last stop and
// start (zero: never asked) and the stand-in's boot time: a stop takes a
// fifth of a boot, a start a whole boot, as the first one did.
func PowerAt(stoppedAt, startedAt, now time.Time, boot time.Duration) Power {
	switch {
	case !startedAt.IsZero() && startedAt.After(stoppedAt):
		if now.Sub(startedAt) < boot {
			return Starting
		}
		return Running
	case !stoppedAt.IsZero():
		if now.Sub(stoppedAt) < boot/5 {
			return Stopping
		}
		return Stopped
	}
	return Unpowered
}
