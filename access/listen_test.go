package access

import "testing"

func TestHearsCall(t *testing.T) {
	for _, c := range []struct {
		name            string
		p               Principal
		client, purpose string
		want            bool
	}{
		{"supervisor, a purpose naming supervisors", who(sup), "", "cs-quality", true},
		{"supervisor, a purpose not naming supervisors", who(sup), "", "complaints", false},
		{"supervisor, unknown purpose", who(sup), "", "gone", false},
		{"admin, who sees every call of its view", who(adm), "", "cs-quality", false},
		{"privacy officer, a listener of the purpose", who(po), "", "cs-quality", false},
		{"scoped supervisor, its client", who(sup, "globex"), "globex", "cs-quality", true},
		{"scoped supervisor, another client", who(sup, "acme"), "globex", "cs-quality", false},
		{"unscoped supervisor, a client's call", who(sup), "acme", "cs-quality", false},
		{"scoped supervisor and admin, a purpose not naming supervisors", who([]string{Supervisor, Admin}, "globex"), "globex", "complaints", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			why, got := policy.HearsCall(c.p, c.client, c.purpose)
			if got != c.want {
				t.Errorf("got %v (%s), want %v", got, why, c.want)
			}
			if got == (why != "") {
				t.Errorf("got %v with why %q: a refusal says why, a permission says nothing", got, why)
			}
		})
	}
}
