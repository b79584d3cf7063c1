// Absolute http(s) URLs as the transport accepts them, and the small string helpers the REST
// client needs to build them. Pure C++ (no Poco): the rules here are policy, so they are tested
// on their own.
//
// The grammar is deliberately narrow: scheme "http" or "https" (any case), a host that is a DNS
// name, a dotted IPv4 address or a bracketed IPv6 address, an optional port 1..65535, then an
// optional path and query. User info ("user:pass@host") is refused (it would carry a secret and
// hides the real host), as are fragments, spaces and control characters.
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

// Parses an absolute URL. Failures are kSecurity (a refused URL) with a message that quotes at
// most the scheme and host, never the query.
Result<HttpUrl> ParseHttpUrl(std::string_view url);

// True for the hosts plain http:// may reach: "127.0.0.1", "::1" and "localhost" (exactly these;
// the local sandbox). Other loopback spellings ("127.1", "0x7f000001") are not accepted.
bool IsLoopbackHostName(std::string_view host);

// Percent-encodes everything but ALPHA / DIGIT / "-_.!~*'()", as JavaScript's
// encodeURIComponent does (the SDKs encode path ids and query values this way).
std::string EncodeUriComponent(std::string_view s);

// The URL without its query string: for messages and logs.
std::string RedactUrl(std::string_view url);

}  // namespace sflow

#endif  // SFLOW_API_HTTP_URL_H_
