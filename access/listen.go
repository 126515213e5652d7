package access

import (
	"fmt"
	"slices"
)

// HearsCall reports whether p may listen in to a call in progress on a
// line of client for purpose, or says why not: listening is hearing the
// recording, so it takes the supervisor role in the client's view
// (ClientRoles) and the purpose naming supervisors among its listeners.
// An admin, who may list and pause every call of its view, does not hear
// them for that.
func (pol Policy) HearsCall(p Principal, client, purpose string) (string, bool) {
	rs, why := pol.ClientRoles(p, client)
	switch {
	case why != "":
		return why, false
	case !slices.Contains(rs, Supervisor):
		return fmt.Sprintf("listen-in through the roles %v, not supervisor", rs), false
	}
	pu, ok := pol.Purpose(purpose)
	switch {
	case !ok:
		return fmt.Sprintf("purpose %q is not configured", purpose), false
	case !slices.Contains(pu.Listeners, Supervisor):
		return fmt.Sprintf("purpose %q does not name supervisors among its listeners %v", purpose, pu.Listeners), false
	}
	return "", true
}
