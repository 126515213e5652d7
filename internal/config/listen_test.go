package config

import "testing"

func TestCheckDownstreamAccepts(t *testing.T) {
	for _, s := range []string{
		"echo:",
		"sip:agents@192.0.2.10:5070;transport=tcp",
		"sip:192.0.2.10",
		"SIP:Bob@PBX.example.com",
		"sips:desk@pbx.example.com:5061",
		"sip:bob@[2001:db8::1]:5060;transport=udp;lr",
		"sip:+81312345678@gw;user=phone",
	} {
		t.Run(s, func(t *testing.T) {
			if err := checkDownstream(s); err != nil {
				t.Errorf("got %v, want nil", err)
			}
		})
	}
}
