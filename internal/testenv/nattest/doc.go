// Package nattest builds, for one test, a caller network behind a
// masquerading NAT out of network namespaces of its own: a caller
// namespace with a private address, and a router namespace that
// masquerades the caller's traffic toward a link to the host (nftables
// inside the router namespace), as a home router or carrier-grade NAT
// does. Kiroku, on the host end of the link, sees the caller's packets
// come from the router's address while the caller's SDP names its
// private one.
//
// Nothing leaves the machine: the only addresses are those of the
// namespaces it creates, the host route to the private network points
// into the router, and the router, like a real NAT, forwards from the
// host only what answers the caller's own flows. Everything is removed
// when the test ends. It needs root (CAP_NET_ADMIN); without it the test
// is skipped.
//
// It must not be used outside tests.
package nattest
