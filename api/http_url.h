// Absolute http(s) URLs as the transport accepts them, and the small string helpers the REST
// client needs to build them. Pure C++ (no Poco): the rules here are policy, so they are tested
// on their own.
//
// Parsing and the address policy are engine/url.h's, shared with plan validation: scheme "http" or
// "https", the host normalised (percent-decoded, lower case, every IPv4 and IPv6 spelling read as
// an address), an optional port 1..65535, then path and query. Refused: user info ("user:pass@"),
// fragments, spaces, control characters, non-ASCII bytes, and any host InternalHostReason refuses
// (loopback, private, link-local, NAT64, ...), except the local sandbox's names written exactly
// "127.0.0.1", "[::1]" or "localhost". Plain http:// beyond those is refused by the transport.
#ifndef SFLOW_API_HTTP_URL_H_
#define SFLOW_API_HTTP_URL_H_

#include <string>
#include <string_view>

#include "engine/status.h"

namespace sflow {

struct HttpUrl {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // lower case; IPv6 without brackets ("::1")
  int port = 0;        // explicit or the scheme's default
  std::string target;  // path and query as sent on the request line; "/" when empty

  bool secure() const { return scheme == "https"; }
  // "host:port" with IPv6 in brackets; for messages and the Host header.
  std::string Authority() const;
  // scheme://authority + path, the query left out (queries may hold presigned signatures).
  std::string Redacted() const;
};

// Parses an absolute URL and applies the address policy above. Failures are kSecurity (a refused
// URL) with a message that quotes at most the scheme and host, never user info or the query.
Result<HttpUrl> ParseHttpUrl(std::string_view url);

// True for the hosts plain http:// may reach: "127.0.0.1", "::1" and "localhost" (exactly these;
// the local sandbox). Other loopback spellings ("127.1", "0x7f000001") are not accepted.
bool IsLoopbackHostName(std::string_view host);

// Why a connection to `host` (as the URL names it) must not go to `address` (as the resolver
// gave it): "" when it may. An https host that passed ParseHttpUrl may still resolve to an
// internal address (DNS rebinding, a poisoned resolver); that is refused unless the host is one of
// the local sandbox's exact names (IsLoopbackHostName), which may reach loopback only.
std::string ResolvedAddressRefusal(std::string_view host, std::string_view address);

// Percent-encodes everything but ALPHA / DIGIT / "-_.!~*'()", as JavaScript's
// encodeURIComponent does (the SDKs encode path ids and query values this way).
std::string EncodeUriComponent(std::string_view s);

// The URL without its query string: for messages and logs.
std::string RedactUrl(std::string_view url);

}  // namespace sflow

#endif  // SFLOW_API_HTTP_URL_H_
