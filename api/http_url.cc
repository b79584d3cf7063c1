#include "api/http_url.h"

#include <algorithm>
#include <cctype>

#include "engine/url.h"

namespace sflow {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

Status Refused(std::string_view why) { return Status::Security("refused URL: " + std::string(why)); }

}  // namespace

std::string HttpUrl::Authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string HttpUrl::Redacted() const {
  std::string path = target.substr(0, target.find('?'));
  return scheme + "://" + Authority() + path;
}

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  Result<Url> parsed = ParseUrl(url);
  if (!parsed.ok()) return Refused(parsed.status().message());
  HttpUrl out;
  out.scheme = parsed->scheme;
  if (out.scheme != "http" && out.scheme != "https") return Refused("scheme \"" + out.scheme + "\" is not http or https");
  if (parsed->has_userinfo) return Refused("user info in a URL is not allowed");
  if (parsed->has_fragment) return Refused("fragments are not sent");
  // The local sandbox is reached by exactly these names, as written; any other spelling of an
  // internal address ("127.1", "[::ffff:127.0.0.1]", "10.0.0.1") is refused, over https too.
  std::string written = parsed->written_host;
  if (written.size() >= 2 && written.front() == '[') written = written.substr(1, written.size() - 2);
  if (!IsLoopbackHostName(written)) {
    if (std::string why = InternalHostReason(*parsed); !why.empty()) return Refused(why);
  }
  out.host = parsed->host;
  out.port = parsed->port ? parsed->port : out.secure() ? 443 : 80;
  out.target = parsed->path_query.empty() ? "/" : parsed->path_query;
  if (out.target.front() == '?') out.target.insert(out.target.begin(), '/');
  return out;
}

bool IsLoopbackHostName(std::string_view host) {
  std::string h = Lower(host);
  return h == "127.0.0.1" || h == "::1" || h == "localhost";
}

std::string ResolvedAddressRefusal(std::string_view host, std::string_view address) {
  std::string why = InternalAddressReason(address);
  if (why.empty()) return "";
  if (IsLoopbackHostName(host)) {
    // The sandbox's names may reach loopback, and only loopback.
    std::string a(address);
    if (a == "::1" || a.rfind("127.", 0) == 0) return "";
  }
  return std::string(host) + " resolves to " + std::string(address) + " (" + why + ")";
}

std::string EncodeUriComponent(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || std::string_view("-_.!~*'()").find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string RedactUrl(std::string_view url) {
  std::string_view base = url.substr(0, url.find_first_of("?#"));
  return std::string(base);
}

}  // namespace sflow
