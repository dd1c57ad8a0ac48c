package webhook

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// maxURLLen bounds a subscription URL.
const maxURLLen = 2048

// urlPolicy decides where Casefile may send requests. Without
// allowInsecure (the production default) a URL must be https and must not
// point at a loopback, private, link-local (cloud metadata), shared (CGNAT),
// multicast or unspecified address — the guard against server-side request
// forgery. Names are checked twice: when the URL is registered (literal
// addresses, localhost) and when each connection is dialled (the addresses
// DNS answered), so that a name that later resolves inward is refused too.
type urlPolicy struct {
	allowInsecure bool
}

// check returns why raw may not be a subscription URL ("" when it may).
func (p urlPolicy) check(raw string) string {
	if raw == "" {
		return "is required"
	}
	if len(raw) > maxURLLen {
		return fmt.Sprintf("must be at most %d characters", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return "must be an absolute URL such as https://hooks.example.com/casefile"
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !p.allowInsecure {
			return "must use https (http needs the --webhook-allow-insecure setting)"
		}
	default:
		return "must be an https URL"
	}
	if u.User != nil {
		return "must not carry a user name or password"
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "must not have a fragment"
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return "must name a host"
	}
	if p.allowInsecure {
		return ""
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return "must not point at this machine (loopback needs the --webhook-allow-insecure setting)"
	}
	if a, err := netip.ParseAddr(host); err == nil && blockedAddr(a) {
		return "must not point at a loopback, private or link-local address (needs the --webhook-allow-insecure setting)"
	}
	return ""
}

// dialControl refuses connections to blocked addresses: it runs after DNS
// resolution, on the address actually dialled.
func (p urlPolicy) dialControl(_, address string, _ syscall.RawConn) error {
	if p.allowInsecure {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused: cannot read the address %q", address)
	}
	if blockedAddr(ap.Addr()) {
		return fmt.Errorf("refused: %s is a loopback, private or link-local address", ap.Addr())
	}
	return nil
}

var (
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	nat64       = netip.MustParsePrefix("64:ff9b::/96") // IPv4 in the last 32 bits
	sixToFour   = netip.MustParsePrefix("2002::/16")    // IPv4 in bits 16–48
)

func blockedAddr(a netip.Addr) bool {
	a = a.Unmap()
	// IPv6 addresses that carry an IPv4 one reach it through a gateway:
	// judge the IPv4 address.
	if b := a.As16(); nat64.Contains(a) {
		return blockedAddr(netip.AddrFrom4([4]byte(b[12:16])))
	} else if sixToFour.Contains(a) {
		return blockedAddr(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || sharedSpace.Contains(a) || thisNetwork.Contains(a)
}
