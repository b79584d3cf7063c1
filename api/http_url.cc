#include "api/http_url.h"

#include <algorithm>
#include <cctype>

namespace sflow {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
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
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return Refused("it contains a space or control character");
  }
  size_t colon = url.find("://");
  if (colon == std::string_view::npos) return Refused("not an absolute http(s) URL");
  HttpUrl out;
  out.scheme = Lower(url.substr(0, colon));
  if (out.scheme != "http" && out.scheme != "https") return Refused("scheme \"" + out.scheme + "\" is not http or https");
  std::string_view rest = url.substr(colon + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (tail.find('#') != std::string_view::npos) return Refused("fragments are not sent");
  if (authority.find('@') != std::string_view::npos) return Refused("user info in a URL is not allowed");
  if (authority.empty()) return Refused("no host");

  std::string_view host = authority, port;
  bool has_port = false;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Refused("unclosed IPv6 bracket");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return Refused("junk after the IPv6 address");
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
    if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos)
      return Refused("bad IPv6 address");
  } else {
    size_t c = authority.rfind(':');
    if (c != std::string_view::npos) {
      has_port = true;
      host = authority.substr(0, c);
      port = authority.substr(c + 1);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsHostChar)) return Refused("bad host name");
  }
  out.host = Lower(host);
  if (has_port) {
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return Refused("bad port");
    out.port = std::stoi(std::string(port));
    if (out.port < 1 || out.port > 65535) return Refused("port out of range");
  } else {
    out.port = out.secure() ? 443 : 80;
  }
  out.target = tail.empty() ? "/" : std::string(tail);
  if (out.target.front() == '?') out.target.insert(out.target.begin(), '/');
  return out;
}

bool IsLoopbackHostName(std::string_view host) {
  std::string h = Lower(host);
  return h == "127.0.0.1" || h == "::1" || h == "localhost";
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
