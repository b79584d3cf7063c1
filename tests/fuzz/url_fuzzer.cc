// Fuzz target: the URL checks, through their public entry points: ParseHttpUrl and the helpers
// of api/http_url.h (the transport's parser) and CheckMediaUrl (engine/media.h, plan media).
// Checked: a parsed URL is normalised (http or https, a lower-case host, a port in range, a
// target starting with '/') and parsing its own rendering gives it back; no error message and
// no redacted form quotes the query; a media URL that is accepted is https, parses, has no user
// info and, when its host is an IPv4 or IPv6 literal, not an internal one (the two checks agree);
// EncodeUriComponent leaves only unreserved characters and %XX.
#include <arpa/inet.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/http_url.h"
#include "engine/media.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using sflow::fuzz::Check;

bool InternalV4(uint32_t a) {
  return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 || (a >> 16) == 0xA9FE || (a >> 20) == 0xAC1 ||
         (a >> 16) == 0xC0A8;
}

bool InternalLiteral(const std::string& host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return InternalV4(ntohl(v4.s_addr));
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
  const uint8_t* b = v6.s6_addr;
  return IN6_IS_ADDR_LOOPBACK(&v6) || IN6_IS_ADDR_UNSPECIFIED(&v6) || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
         (b[0] & 0xfe) == 0xfc ||
         (IN6_IS_ADDR_V4MAPPED(&v6) && InternalV4((uint32_t(b[12]) << 24) | (b[13] << 16) | (b[14] << 8) | b[15]));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string url(reinterpret_cast<const char*>(data), size);
  const size_t q = url.find('?');
  // The start of a query long enough to be a secret (a name=value pair, as presigned signatures
  // are; no fixed message has an '='), found nowhere before the query: no message may quote it.
  const std::string query = q == std::string::npos ? "" : url.substr(q + 1, 12);
  const bool secret = query.size() == 12 && query.find('=') != std::string::npos &&
                      url.substr(0, q).find(query) == std::string::npos;

  sflow::Result<sflow::HttpUrl> u = sflow::ParseHttpUrl(url);
  if (u.ok()) {
    Check(u->scheme == "http" || u->scheme == "https", "a parsed URL with another scheme");
    Check(!u->host.empty(), "a parsed URL without a host");
    Check(u->host.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos, "a host not lower case");
    Check(u->port >= 1 && u->port <= 65535, "a port out of range");
    Check(!u->target.empty() && u->target[0] == '/', "a target not starting with /");
    Check(u->Redacted().find('?') == std::string::npos, "Redacted() kept the query");
    sflow::Result<sflow::HttpUrl> again = sflow::ParseHttpUrl(u->scheme + "://" + u->Authority() + u->target);
    Check(again.ok() && again->scheme == u->scheme && again->host == u->host && again->port == u->port &&
              again->target == u->target,
          "a parsed URL does not parse back from its own rendering");
  } else if (secret) {
    Check(u.status().message().find(query) == std::string::npos, "an error message quotes the query");
  }
  if (secret) Check(sflow::RedactUrl(url).find(query) == std::string::npos, "RedactUrl kept the query");

  const std::string why = sflow::CheckMediaUrl(url);
  if (why.empty()) {
    std::string scheme = url.substr(0, 8);
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    Check(scheme == "https://", "an accepted media URL is not https");
    if (u.ok()) {
      Check(u->secure(), "an accepted media URL parses as plain http");
      Check(!InternalLiteral(u->host), "an accepted media URL names an internal address");
    }
  } else if (secret) {
    Check(why.find(query) == std::string::npos, "a media URL refusal quotes the query");
  }

  const std::string enc = sflow::EncodeUriComponent(url);
  for (size_t i = 0; i < enc.size(); ++i) {
    const char c = enc[i];
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("-_.!~*'()").find(c) != std::string_view::npos;
    Check(plain || (c == '%' && i + 2 < enc.size() && std::isxdigit(static_cast<unsigned char>(enc[i + 1])) &&
                    std::isxdigit(static_cast<unsigned char>(enc[i + 2]))),
          "EncodeUriComponent left a reserved character");
  }
  return 0;
}
