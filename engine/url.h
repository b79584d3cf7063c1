// URLs from untrusted text (plan media, --api-url, server answers): one parser and one address
// policy, used by plan validation (CheckMediaUrl, engine/media.h) and by the transport
// (ParseHttpUrl, api/http_url.h). Plain C++, no Poco, no resolver.
//
// Parsing follows RFC 3986 for the parts and the WHATWG URL standard for the host, because that
// is how the clients that will fetch the URL read it:
//   - the host is percent-decoded, then lower-cased ("%31%32%37.0.0.1" is 127.0.0.1);
//   - a host whose last label is a number is an IPv4 address in any of the forms inet_aton and
//     browsers accept: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x), the last part
//     filling the remaining bytes ("127.1", "0x7f000001", "2130706433", "0177.0.0.1");
//   - a bracketed host is an IPv6 address, possibly ending in dotted IPv4 ("::127.0.0.1");
// and it is stricter than both where leniency only hides the real host: spaces, control
// characters, non-ASCII bytes and backslashes anywhere, zone ids, and a host that still holds
// '%' or a character other than letters, digits, '-', '_' and '.' after decoding are refused.
#ifndef SFLOW_ENGINE_URL_H_
#define SFLOW_ENGINE_URL_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace sflow {

struct Url {
  enum class HostKind { kName, kIPv4, kIPv6 };
  std::string scheme;          // lower case
  std::string written_host;    // the host as written (lower case), for the few exact-name rules
  std::string host;            // normalised: decoded, lower case; IPv4 dotted; IPv6 compressed, no brackets
  HostKind host_kind = HostKind::kName;
  std::array<uint8_t, 16> address{};  // kIPv4: the first 4 bytes; kIPv6: all 16
  bool has_userinfo = false;   // "user:pass@" was present (never kept)
  int port = 0;                // 0 when none was given
  std::string path_query;      // from the first '/' or '?' on, without the fragment; may be ""
  bool has_fragment = false;
};

// The scheme of `text` in lower case ("https"), or "" when it does not start with one.
std::string UrlScheme(std::string_view text);

// Parses an absolute URL with an authority ("scheme://host..."). Errors are kSecurity, with a
// message that never quotes user info or the query.
Result<Url> ParseUrl(std::string_view text);

// Why a URL's host must not be fetched on the user's behalf: a name of this machine
// ("localhost", "*.localhost"), or an address that IANA's special-purpose registries mark not
// globally reachable (loopback, private, link-local, CGNAT, documentation, benchmarking, IETF
// protocol assignments, discard-only, ...), multicast, broadcast or reserved; for IPv6 also
// IPv4-mapped, IPv4-compatible, IPv4-translated, NAT64 (64:ff9b::/96, 64:ff9b:1::/48),
// site-local (fec0::/10), and 6to4 or Teredo embedding an IPv4 address that is refused
// (docs/plan-language.md section 6 lists the blocks). "" for a public host.
std::string InternalHostReason(const Url& url);

// The same rules for a resolved address as a resolver prints it ("10.0.0.1", "::ffff:a00:1"),
// for checks at connect time (a public name may resolve to an internal address). "" for a
// public address; a reason for an internal one or for text that is not an IP address.
std::string InternalAddressReason(std::string_view address);

}  // namespace sflow

#endif  // SFLOW_ENGINE_URL_H_
