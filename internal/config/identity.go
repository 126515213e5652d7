package config

// Caller identity per trunk. A carrier or SBC in a trusted network
// asserts the caller's number in P-Asserted-Identity (RFC 3325) or the
// older Remote-Party-ID, and anonymises From when the caller withholds
// it (Privacy: id; 184 in Japan). A trunk's identity setting says which
// header Kiroku reads the number from:
//
//	from  the From header only (default); the trunk is not trusted to
//	      assert identity, and any P-Asserted-Identity, Remote-Party-ID
//	      or Privacy it sends is ignored and not passed to the agent
//	pai   P-Asserted-Identity, with Privacy; From when it has none
//	rpid  Remote-Party-ID (its privacy parameter); From when it has none
const (
	IdentityFrom = "from"
	IdentityPAI  = "pai"
	IdentityRPID = "rpid"
	// DefaultIdentity trusts no trunk to assert identity.
	DefaultIdentity = IdentityFrom
)

// Asserts reports whether the trunk is trusted to assert the caller's
// identity (its identity is pai or rpid).
func (t *Trunk) Asserts() bool { return t.Identity == IdentityPAI || t.Identity == IdentityRPID }

// checkIdentity fills in the identity default and checks the settings.
func (c *Config) checkIdentity(r *report) {
	for i := range c.SIP.Trunks {
		t := &c.SIP.Trunks[i]
		switch t.Identity {
		case "":
			t.Identity = DefaultIdentity
		case IdentityFrom, IdentityPAI, IdentityRPID:
		default:
			r.add(child(index("sip.trunks", i), "identity"), "%q is not from, pai or rpid", t.Identity)
		}
	}
}
