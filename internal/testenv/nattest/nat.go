package nattest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// NAT is a caller network behind a masquerading router.
type NAT struct {
	// Namespace is the caller's network namespace: run the caller in it
	// with Command.
	Namespace string
	// Private is the caller's address, on its own network behind the
	// router: what its SDP names.
	Private netip.Addr
	// Host is the host's end of the link to the router: where Kiroku
	// listens.
	Host netip.Addr
	// Public is the router's address on that link: where the caller's
	// packets come from once masqueraded.
	Public netip.Addr
	// Link is the prefix of the host–router link (a trunk's cidrs).
	Link netip.Prefix
}

// New builds the namespaces, the links and the NAT, and removes them
// when the test ends. It skips the test unless it runs as root, and
// installs nftables (Debian) when nft is missing.
func New(t testing.TB) *NAT {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("nattest: network namespaces need root (CAP_NET_ADMIN); run the test as root")
	}
	nft := nftBinary(t)
	id := randomHex(t, 3)
	a, b := freeSubnets(t)
	n := &NAT{
		Namespace: "kn-" + id + "-caller",
		Private:   netip.AddrFrom4([4]byte{10, a, b, 2}),
		Host:      netip.AddrFrom4([4]byte{10, a, b + 1, 1}),
		Public:    netip.AddrFrom4([4]byte{10, a, b + 1, 2}),
		Link:      netip.PrefixFrom(netip.AddrFrom4([4]byte{10, a, b + 1, 0}), 24),
	}
	router := "kn-" + id + "-router"
	hostIf := "kn" + id + "h" // at most 15 characters
	gw := netip.AddrFrom4([4]byte{10, a, b, 1})
	lan := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, a, b, 0}), 24)

	run(t, "ip", "netns", "add", n.Namespace)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.Namespace).Run() })
	run(t, "ip", "netns", "add", router)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", router).Run() })
	// Deleting the namespaces removes their ends of the veth pairs, and
	// with them the host's end, its address and its route.
	t.Cleanup(func() { exec.Command("ip", "link", "del", hostIf).Run() })

	run(t, "ip", "link", "add", hostIf, "type", "veth", "peer", "name", "wan", "netns", router)
	run(t, "ip", "-n", router, "link", "add", "lan", "type", "veth", "peer", "name", "eth0", "netns", n.Namespace)
	run(t, "ip", "addr", "add", n.Host.String()+"/24", "dev", hostIf)
	run(t, "ip", "link", "set", hostIf, "up")
	run(t, "ip", "-n", router, "addr", "add", n.Public.String()+"/24", "dev", "wan")
	run(t, "ip", "-n", router, "addr", "add", gw.String()+"/24", "dev", "lan")
	for _, l := range []string{"lo", "wan", "lan"} {
		run(t, "ip", "-n", router, "link", "set", l, "up")
	}
	run(t, "ip", "-n", n.Namespace, "addr", "add", n.Private.String()+"/24", "dev", "eth0")
	for _, l := range []string{"lo", "eth0"} {
		run(t, "ip", "-n", n.Namespace, "link", "set", l, "up")
	}
	run(t, "ip", "-n", n.Namespace, "route", "add", "default", "via", gw.String())
	// Packets the host sends to the private network (a strict peer
	// answering the caller's SDP) go into the router, which drops them:
	// never out of the machine by the default route.
	run(t, "ip", "route", "add", lan.String(), "via", n.Public.String(), "dev", hostIf)
	run(t, "ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	rules := fmt.Sprintf(`table ip kiroku_nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr %s oifname "wan" masquerade
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		iifname "lan" oifname "wan" accept
		iifname "wan" oifname "lan" ct state established,related accept
	}
}
`, lan)
	cmd := exec.Command("ip", "netns", "exec", router, nft, "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nattest: nft: %v\n%s", err, out)
	}
	return n
}

// Command runs name with args in the caller's namespace.
func (n *NAT) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Namespace, name}, args...)...)
}

// nftBinary finds nft, installing Debian's nftables when it is missing.
func nftBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("nft"); err == nil {
		return p
	}
	install := exec.Command("apt-get", "install", "-y", "-qq", "--no-install-recommends", "nftables")
	install.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("nattest: nft not found and apt-get install nftables failed (`make test-deps` installs it): %v\n%s", err, out)
	}
	p, err := exec.LookPath("nft")
	if err != nil {
		t.Fatalf("nattest: nft not found after installing nftables: %v", err)
	}
	return p
}

// freeSubnets picks 10.a.b.0/24 and 10.a.b+1.0/24 that no address or
// route of the host's touches.
func freeSubnets(t testing.TB) (a, b byte) {
	t.Helper()
	var seen strings.Builder
	for _, args := range [][]string{{"-4", "-o", "addr", "show"}, {"-4", "route", "show", "table", "all"}} {
		out, err := exec.Command("ip", args...).Output()
		if err != nil {
			t.Fatalf("nattest: ip %s: %v", strings.Join(args, " "), err)
		}
		seen.Write(out)
	}
	used := seen.String()
	for range 100 {
		a = byte(200 + randomInt(t, 50))
		b = byte(2 * randomInt(t, 120))
		if !strings.Contains(used, fmt.Sprintf("10.%d.%d.", a, b)) && !strings.Contains(used, fmt.Sprintf("10.%d.%d.", a, b+1)) &&
			!strings.Contains(used, fmt.Sprintf("10.%d.0.0/16", a)) && !strings.Contains(used, "10.0.0.0/8") {
			return a, b
		}
	}
	t.Fatal("nattest: no free 10.x subnets")
	return 0, 0
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("nattest: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func randomInt(t testing.TB, n int64) int64 {
	t.Helper()
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		t.Fatal(err)
	}
	return v.Int64()
}
