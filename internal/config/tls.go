package config

import "path/filepath"

// SIPTLS is the certificate of the tls:// listeners and, with ClientCA,
// the check of callers' certificates (mutual TLS).
type SIPTLS struct {
	Cert string `yaml:"cert"` // PEM certificate chain; required with a tls:// listener
	Key  string `yaml:"key"`  // PEM private key
	// ClientCA, when set, makes every TLS caller present a certificate
	// signed by one of its CAs; a trunk's tls_client_cn narrows that to
	// one name.
	ClientCA string `yaml:"client_ca"`
	// DownstreamCA is the PEM bundle a sips: downstream's certificate
	// must chain to (a private CA of the agent platform); empty: the
	// system's roots. With Cert and Key set, kirokud also presents that
	// certificate to the downstream (mutual TLS).
	DownstreamCA string `yaml:"downstream_ca"`
}

// resolveSIPTLS joins relative certificate paths to dir.
func (c *Config) resolveSIPTLS(dir string) {
	t := &c.SIP.TLS
	for _, p := range []*string{&t.Cert, &t.Key, &t.ClientCA, &t.DownstreamCA} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// checkSIPTLS checks sip.tls against the listeners and trunks. The files
// are read when the listeners start.
func (c *Config) checkSIPTLS(r *report) {
	t := &c.SIP.TLS
	hasTLS := false
	for _, l := range c.SIP.Listeners {
		hasTLS = hasTLS || l.Network == "tls"
	}
	switch {
	case hasTLS && t.Cert == "":
		r.add("sip.tls.cert", "required by the tls:// listener")
	case t.Cert != "" && t.Key == "":
		r.add("sip.tls.key", "required with sip.tls.cert")
	case t.Key != "" && t.Cert == "":
		r.add("sip.tls.cert", "required with sip.tls.key")
	}
	for i, tr := range c.SIP.Trunks {
		if tr.TLSClientCN != "" && t.ClientCA == "" {
			r.add(child(index("sip.trunks", i), "tls_client_cn"), "needs sip.tls.client_ca to check certificates against")
		}
	}
}
