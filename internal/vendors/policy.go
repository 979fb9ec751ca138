package vendors

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"github.com/staffsync/staffsync/internal/domain"
)

// DefaultHosts are the vendors' production API hosts, the only ones a deployed stack
// calls unless the operator lists more (ALLOWED_VENDOR_HOSTS). Personio has one API host
// (personio-api-notes.md §1). Staffomatic documents api.staffomaticapp.com; the legacy
// EASYPEP brand (api.easypepapp.com) and the newer app generation (app.staffomatic.app,
// app.staffomaticapp.com) serve the same v3 API under its own domains
// (staffomatic-api-notes.md §1), so an account on either still connects.
var DefaultHosts = map[domain.System][]string{
	domain.SystemPersonio:    {"api.personio.de"},
	domain.SystemStaffomatic: {"api.staffomaticapp.com", "api.easypepapp.com", "app.staffomatic.app", "app.staffomaticapp.com"},
}

// Policy says which vendor URLs and addresses a process may connect to. A tenant admin
// chooses the base URLs, so without it a tenant could make the functions call any host
// and port: the instance metadata service (169.254.169.254), the VPC, or the Lambda
// runtime API on 127.0.0.1:9001.
type Policy struct {
	// Open admits any http(s) URL and any address: the local runner (`staffsync dev`)
	// and tests, whose vendors are simulators on loopback ports.
	Open bool
	// Hosts are the operator's additions (the AllowedVendorHosts stack parameter) to both
	// vendors' DefaultHosts. An entry is a host name, an IP address or a CIDR prefix,
	// optionally with "http://" to allow plain http to it (otherwise https only); a port
	// is ignored. A name admits the name only: the addresses it resolves to are still
	// refused when they are private. An address or prefix admits those addresses too.
	Hosts []string
}

// entry is one allowed host.
type entry struct {
	host   string       // lower-case name or address text; empty for a prefix
	prefix netip.Prefix // an address or prefix entry, else invalid
	http   bool
}

// ParseHosts splits a comma-separated list (ALLOWED_VENDOR_HOSTS) into entries, checking
// each, so a typo fails at start-up instead of refusing every tenant.
func ParseHosts(list string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if _, err := parseEntry(s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func parseEntry(s string) (entry, error) {
	var e entry
	raw := strings.ToLower(strings.TrimSpace(s))
	switch {
	case strings.HasPrefix(raw, "http://"):
		e.http, raw = true, strings.TrimPrefix(raw, "http://")
	case strings.HasPrefix(raw, "https://"):
		raw = strings.TrimPrefix(raw, "https://")
	}
	raw = strings.TrimRight(raw, "/")
	if p, err := netip.ParsePrefix(raw); err == nil {
		e.prefix = p.Masked()
		return e, nil
	}
	host := raw
	if h, _, err := net.SplitHostPort(raw); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		e.prefix = netip.PrefixFrom(a, a.BitLen())
		return e, nil
	}
	if host == "" || strings.ContainsAny(host, "/?#@ *") {
		return e, fmt.Errorf("allowed vendor host %q: use a host name, an IP address or a CIDR prefix, optionally with http://", s)
	}
	e.host = host
	return e, nil
}

func (p Policy) entries(sys domain.System) []entry {
	var out []entry
	for _, h := range DefaultHosts[sys] {
		out = append(out, entry{host: h})
	}
	for _, h := range p.Hosts {
		if e, err := parseEntry(h); err == nil {
			out = append(out, e)
		}
	}
	return out
}

// RefusedError is a vendor URL or address the policy does not admit. It is permanent:
// the vendor clients do not retry it, and the API answers 400 naming the base URL field.
type RefusedError struct {
	System domain.System
	// Target is the host or address refused (no path, no query).
	Target string
	// Rule says which rule refused it, in words an admin can act on.
	Rule string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s: refusing to connect to %s: %s", e.System, e.Target, e.Rule)
}

// Permanent tells the vendor clients that retrying cannot help.
func (e *RefusedError) Permanent() bool { return true }

// CheckURL reports whether a base URL of sys may be used: in a deployed stack only https
// to the vendor's hosts or the operator's additions, and an address literal only when an
// entry admits it. Nil when admitted; a *RefusedError otherwise.
func (p Policy) CheckURL(sys domain.System, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return &RefusedError{System: sys, Target: "an invalid URL", Rule: "use an http(s) URL with a host"}
	}
	if u.User != nil {
		return &RefusedError{System: sys, Target: u.Hostname(), Rule: "a URL with a user name or password is not used; the credentials have their own fields"}
	}
	if p.Open {
		return nil
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	addr, aerr := netip.ParseAddr(strings.Trim(host, "[]"))
	isAddr := aerr == nil
	for _, e := range p.entries(sys) {
		match := e.host != "" && e.host == host || isAddr && e.prefix.IsValid() && e.prefix.Contains(addr.Unmap())
		if !match {
			continue
		}
		if u.Scheme == "http" && !e.http {
			return &RefusedError{System: sys, Target: host, Rule: "only https is allowed (an operator may allow plain http for a host in AllowedVendorHosts)"}
		}
		return nil
	}
	return &RefusedError{System: sys, Target: host, Rule: fmt.Sprintf("the host is not one of %s's API hosts (%s) nor in the operator's AllowedVendorHosts",
		sys, strings.Join(DefaultHosts[sys], ", "))}
}

// checkAddr is the connect-time check of a resolved address ("ip:port"): in a deployed
// stack a loopback, private, link-local, unspecified, multicast, CGNAT or otherwise
// special address (also in its IPv4-mapped IPv6 form) is refused unless an address or
// prefix entry admits it. It runs in net.Dialer.ControlContext, on the very address the
// socket connects to, so a name that resolves (or rebinds) to 127.0.0.1 is caught too.
func (p Policy) checkAddr(sys domain.System, address string) error {
	if p.Open {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{System: sys, Target: address, Rule: "not an IP address"}
	}
	a := ap.Addr().Unmap()
	for _, e := range p.entries(sys) {
		if e.prefix.IsValid() && e.prefix.Contains(a) {
			return nil
		}
	}
	if why := special(a); why != "" {
		return &RefusedError{System: sys, Target: a.String(), Rule: why + " is not a vendor API (an operator may list it in AllowedVendorHosts)"}
	}
	return nil
}

// specialPrefixes are ranges no vendor API lives in, beyond what netip's predicates cover.
var specialPrefixes = []struct {
	p   netip.Prefix
	why string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a \"this network\" address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("64:ff9b::/96"), "a NAT64 address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a NAT64 address"},
	{netip.MustParsePrefix("2002::/16"), "a 6to4 address"},
	// IPv6 spellings that embed an IPv4 address (as 64:ff9b::/96 and 2002::/16 do), so that
	// ::127.0.0.1 or ::ffff:0:a9fe:a9fe cannot stand for a refused IPv4 address.
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible IPv6 address"},
	{netip.MustParsePrefix("::ffff:0:0:0/96"), "an IPv4-translated IPv6 address"},
	{netip.MustParsePrefix("2001::/32"), "a Teredo address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
}

// special says why a is no public unicast address, or "".
func special(a netip.Addr) string {
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast():
		return "a link-local address (such as the instance metadata service)"
	case a.IsUnspecified():
		return "the unspecified address"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "a multicast address"
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast address"
	}
	for _, s := range specialPrefixes {
		if s.p.Contains(a) {
			return s.why
		}
	}
	return ""
}

// control is the net.Dialer.ControlContext of sys's connections.
func (p Policy) control(sys domain.System) func(context.Context, string, string, syscall.RawConn) error {
	return func(_ context.Context, _, address string, _ syscall.RawConn) error {
		return p.checkAddr(sys, address)
	}
}
