package config

import (
	"net/netip"
	"regexp"
)

// MediaInterface is a named address RTP sockets bind to, with the address
// the SDP advertises for it: for an SBC-style split where the carrier
// side and the agent side are different networks, and for a host behind
// NAT (advertise ≠ bind). The carrier side's is chosen per trunk
// (media_interface), the agent side's per line
// (downstream_media_interface); without one a leg uses sip.media_ip.
type MediaInterface struct {
	Name      string     `yaml:"name"`
	Bind      string     `yaml:"bind"`      // IP the RTP sockets bind to
	Advertise string     `yaml:"advertise"` // IP in SDP c= and o=; default bind
	BindAddr  netip.Addr `yaml:"-"`
	AdvAddr   netip.Addr `yaml:"-"`
}

var ifName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// checkMediaInterfaces checks sip.media_interfaces and the trunks' and
// lines' choices of them.
func (c *Config) checkMediaInterfaces(r *report) {
	s := &c.SIP
	names := map[string]int{}
	for i := range s.MediaInterfaces {
		m := &s.MediaInterfaces[i]
		key := index("sip.media_interfaces", i)
		switch j, dup := names[m.Name]; {
		case !ifName.MatchString(m.Name):
			r.add(child(key, "name"), "%q is not a name of 1 to 32 lower-case letters, digits, - and _", m.Name)
		case dup:
			r.add(child(key, "name"), "%q repeats sip.media_interfaces[%d]", m.Name, j)
		default:
			names[m.Name] = i
		}
		var err error
		if m.BindAddr, err = netip.ParseAddr(m.Bind); err != nil || m.BindAddr.IsUnspecified() {
			r.add(child(key, "bind"), "%q is not an IP address of this host (0.0.0.0 and :: cannot be advertised)", m.Bind)
		}
		m.BindAddr = m.BindAddr.Unmap()
		if m.Advertise == "" {
			m.AdvAddr = m.BindAddr
		} else if m.AdvAddr, err = netip.ParseAddr(m.Advertise); err != nil || m.AdvAddr.IsUnspecified() {
			r.add(child(key, "advertise"), "%q is not an IP address peers can send RTP to", m.Advertise)
		} else if m.AdvAddr.Unmap().Is4() != m.BindAddr.Is4() {
			r.add(child(key, "advertise"), "%s and bind %s are of different families", m.Advertise, m.Bind)
		}
		m.AdvAddr = m.AdvAddr.Unmap()
	}
	known := func(key, name string) {
		if _, ok := names[name]; name != "" && !ok {
			r.add(key, "%q is not a sip.media_interfaces name", name)
		}
	}
	for i := range s.Trunks {
		known(child(index("sip.trunks", i), "media_interface"), s.Trunks[i].MediaInterface)
	}
	for i := range c.Lines {
		l := &c.Lines[i]
		known(child(index("lines", i), "downstream_media_interface"), l.DownstreamMediaInterface)
		if l.DownstreamMediaInterface != "" && l.Downstream == echoURI {
			r.add(child(index("lines", i), "downstream_media_interface"), "an echo: line has no agent leg")
		}
	}
}
