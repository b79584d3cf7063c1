#include "engine/url.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <vector>

namespace sflow {

namespace {

Status Refused(const std::string& why) { return Status::Security(why); }

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// One part of a legacy IPv4 address: "0x1f" (hex), "017" (octal), "17" (decimal).
std::optional<uint64_t> ParseIPv4Part(std::string_view p) {
  if (p.empty()) return std::nullopt;
  int base = 10;
  if (p.size() >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    base = 16;
    p.remove_prefix(2);
    if (p.empty()) return 0;  // "0x" is 0, as browsers read it
  } else if (p.size() >= 2 && p[0] == '0') {
    base = 8;
    p.remove_prefix(1);
  }
  uint64_t v = 0;
  for (char c : p) {
    int d = HexValue(c);
    if (d < 0 || d >= base) return std::nullopt;
    v = v * base + d;
    if (v > 0xffffffffull) return std::nullopt;
  }
  return v;
}

bool EndsInNumber(const std::vector<std::string_view>& labels) {
  std::string_view last = labels.back();
  if (!last.empty() && std::all_of(last.begin(), last.end(), IsDigit)) return true;
  if (last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X'))
    return std::all_of(last.begin() + 2, last.end(), [](char c) { return HexValue(c) >= 0; });
  return false;
}

// The WHATWG IPv4 parser over labels (a trailing empty label already removed).
Status ParseIPv4(const std::vector<std::string_view>& labels, Url* out) {
  if (labels.size() > 4) return Refused("bad IPv4 address (more than 4 parts)");
  std::vector<uint64_t> parts;
  for (std::string_view l : labels) {
    std::optional<uint64_t> v = ParseIPv4Part(l);
    if (!v) return Refused("bad IPv4 address");
    parts.push_back(*v);
  }
  for (size_t i = 0; i + 1 < parts.size(); ++i)
    if (parts[i] > 255) return Refused("bad IPv4 address (a part is over 255)");
  if (parts.back() >= (1ull << (8 * (5 - parts.size())))) return Refused("bad IPv4 address (out of range)");
  uint32_t v = static_cast<uint32_t>(parts.back());
  for (size_t i = 0; i + 1 < parts.size(); ++i) v += static_cast<uint32_t>(parts[i] << (8 * (3 - i)));
  out->host_kind = Url::HostKind::kIPv4;
  out->address = {};
  for (int i = 0; i < 4; ++i) out->address[i] = static_cast<uint8_t>(v >> (8 * (3 - i)));
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", out->address[0], out->address[1], out->address[2], out->address[3]);
  out->host = buf;
  return Status::OK();
}

// The WHATWG IPv6 parser: hex pieces, one "::", an optional dotted IPv4 tail.
Status ParseIPv6(std::string_view s, Url* out) {
  std::array<uint16_t, 8> pieces{};
  int n = 0, compress = -1;
  size_t i = 0;
  if (s.substr(0, 2) == "::") {
    i = 2;
    compress = 0;
  } else if (!s.empty() && s[0] == ':') {
    return Refused("bad IPv6 address");
  }
  while (i < s.size()) {
    if (n == 8) return Refused("bad IPv6 address (too many pieces)");
    if (s[i] == ':') {
      if (compress >= 0) return Refused("bad IPv6 address (two '::')");
      ++i;
      compress = n;
      continue;
    }
    size_t start = i;
    uint32_t value = 0;
    while (i < s.size() && i - start < 4 && HexValue(s[i]) >= 0) value = value * 16 + HexValue(s[i++]);
    if (i < s.size() && s[i] == '.') {  // an IPv4 tail, in plain decimal only
      if (n > 6) return Refused("bad IPv6 address");
      std::string_view tail = s.substr(start);
      int parts = 0;
      size_t k = 0;
      while (k <= tail.size()) {
        size_t dot = tail.find('.', k);
        std::string_view part = tail.substr(k, dot == std::string_view::npos ? std::string_view::npos : dot - k);
        if (part.empty() || part.size() > 3 || !std::all_of(part.begin(), part.end(), IsDigit) ||
            (part.size() > 1 && part[0] == '0'))
          return Refused("bad IPv4 address inside an IPv6 address");
        int v = std::stoi(std::string(part));
        if (v > 255 || parts == 4) return Refused("bad IPv4 address inside an IPv6 address");
        pieces[n] = static_cast<uint16_t>(pieces[n] * 256 + v);
        if (++parts % 2 == 0) ++n;
        if (dot == std::string_view::npos) break;
        k = dot + 1;
      }
      if (parts != 4) return Refused("bad IPv4 address inside an IPv6 address");
      i = s.size();
      break;
    }
    if (i == start) return Refused("bad IPv6 address");
    pieces[n++] = static_cast<uint16_t>(value);
    if (i < s.size()) {
      if (s[i] != ':') return Refused("bad IPv6 address");
      ++i;
      if (i == s.size()) return Refused("bad IPv6 address (ends in ':')");
    }
  }
  if (compress >= 0) {
    int moved = n - compress;
    for (int k = 0; k < moved; ++k) pieces[7 - k] = pieces[n - 1 - k];
    for (int k = compress; k < 8 - moved; ++k) pieces[k] = 0;
  } else if (n != 8) {
    return Refused("bad IPv6 address (too few pieces)");
  }
  out->host_kind = Url::HostKind::kIPv6;
  for (int k = 0; k < 8; ++k) {
    out->address[2 * k] = static_cast<uint8_t>(pieces[k] >> 8);
    out->address[2 * k + 1] = static_cast<uint8_t>(pieces[k] & 0xff);
  }
  // RFC 5952 text: the longest run of two or more zero pieces becomes "::".
  int best = -1, best_len = 1;
  for (int k = 0; k < 8;) {
    int len = 0;
    while (k + len < 8 && pieces[k + len] == 0) ++len;
    if (len > best_len) best = k, best_len = len;
    k += len ? len : 1;
  }
  std::string text;
  for (int k = 0; k < 8; ++k) {
    if (k == best) {
      text += "::";
      k += best_len - 1;
      continue;
    }
    if (!text.empty() && text.back() != ':') text += ':';
    char buf[8];
    std::snprintf(buf, sizeof buf, "%x", pieces[k]);
    text += buf;
  }
  out->host = text;
  return Status::OK();
}

Status ParseHost(std::string_view written, Url* out) {
  if (written.empty()) return Refused("the URL has no host");
  if (written.front() == '[') {
    if (written.back() != ']') return Refused("unclosed IPv6 bracket");
    std::string_view inside = written.substr(1, written.size() - 2);
    if (inside.find('%') != std::string_view::npos) return Refused("IPv6 zone ids are not allowed");
    return ParseIPv6(inside, out);
  }
  // Percent-decoding comes first: what a client connects to is the decoded name.
  std::string host;
  for (size_t i = 0; i < written.size(); ++i) {
    char c = written[i];
    if (c == '%') {
      int hi = i + 2 < written.size() ? HexValue(written[i + 1]) : -1;
      int lo = hi >= 0 ? HexValue(written[i + 2]) : -1;
      if (lo < 0) return Refused("bad percent-encoding in the host");
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    host.push_back(Lower(c));
  }
  for (char c : host) {
    if (static_cast<unsigned char>(c) >= 0x80)
      return Refused("the host has non-ASCII characters; write an internationalised name in its xn-- form");
    if (!(IsAlpha(c) || IsDigit(c) || c == '-' || c == '_' || c == '.'))
      return Refused("the host has a character a host name cannot have");
  }
  std::vector<std::string_view> labels;
  std::string_view h = host;
  for (size_t start = 0;;) {
    size_t dot = h.find('.', start);
    labels.push_back(h.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (labels.size() > 1 && labels.back().empty()) labels.pop_back();  // "127.0.0.1." and "localhost."
  if (labels.back().empty()) return Refused("the URL has no host");
  if (EndsInNumber(labels)) return ParseIPv4(labels, out);
  out->host_kind = Url::HostKind::kName;
  out->host = host;
  return Status::OK();
}

bool In4(const uint8_t* a, uint32_t net, int bits) {
  uint32_t v = (uint32_t(a[0]) << 24) | (uint32_t(a[1]) << 16) | (uint32_t(a[2]) << 8) | a[3];
  uint32_t mask = bits == 0 ? 0 : ~uint32_t(0) << (32 - bits);
  return (v & mask) == (net & mask);
}

// The address policy is the IANA special-purpose address registries (IPv4 and IPv6): every row
// whose "Globally Reachable" is False is refused, and the rows marked True inside a refused block
// are let through. Beyond the registries, multicast, the deprecated site-local, IPv4-compatible
// and IPv4-translated IPv6 blocks and the deprecated 6to4 relay anycast are refused, NAT64
// (64:ff9b::/96, global in the registry) is refused because it reaches the IPv4 address it
// embeds, and 6to4 and Teredo (N/A in the registry) are judged by the IPv4 address they embed.
struct V4Block {
  uint32_t net;
  int bits;
  const char* what;  // "" for a globally reachable exception
};
constexpr V4Block kV4Blocks[] = {
    {0xc0000009, 32, ""},  // 192.0.0.9/32, PCP anycast
    {0xc000000a, 32, ""},  // 192.0.0.10/32, TURN anycast
    {0x00000000, 8, "an unspecified (0.0.0.0/8)"},
    {0x0a000000, 8, "a private"},
    {0x64400000, 10, "a shared (CGNAT, 100.64.0.0/10)"},
    {0x7f000000, 8, "a loopback"},
    {0xa9fe0000, 16, "a link-local"},
    {0xac100000, 12, "a private"},
    {0xc0000000, 24, "an IETF protocol assignment (192.0.0.0/24)"},
    {0xc0000200, 24, "a documentation (192.0.2.0/24)"},
    {0xc0586300, 24, "a deprecated 6to4 relay anycast (192.88.99.0/24)"},
    {0xc0a80000, 16, "a private"},
    {0xc6120000, 15, "a benchmarking (198.18.0.0/15)"},
    {0xc6336400, 24, "a documentation (198.51.100.0/24)"},
    {0xcb007100, 24, "a documentation (203.0.113.0/24)"},
    {0xe0000000, 4, "a multicast"},
    {0xffffffff, 32, "the broadcast"},
    {0xf0000000, 4, "a reserved (240.0.0.0/4)"},
};

// Why an IPv4 address is refused, or "".
std::string V4Reason(const uint8_t* a) {
  for (const V4Block& b : kV4Blocks)
    if (In4(a, b.net, b.bits)) return b.what;
  return "";
}

bool Prefix6(const std::array<uint8_t, 16>& a, std::initializer_list<uint8_t> bytes, int bits) {
  int i = 0;
  for (uint8_t b : bytes) {
    int take = std::min(8, bits - 8 * i);
    if (take <= 0) break;
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - take));
    if ((a[i] & mask) != (b & mask)) return false;
    ++i;
  }
  return true;
}

struct V6Block {
  std::array<uint8_t, 16> net;
  int bits;
  const char* what;  // "" for a globally reachable exception
};
// Checked after the IPv4-embedding forms (mapped, compatible, translated, NAT64, 6to4, Teredo).
const V6Block kV6Blocks[] = {
    {{0x20, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}, 128, ""},  // PCP anycast
    {{0x20, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02}, 128, ""},  // TURN anycast
    {{0x20, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03}, 128, ""},  // DNS-SD SRP anycast
    {{0x20, 0x01, 0x00, 0x03}, 32, ""},                                          // AMT
    {{0x20, 0x01, 0x00, 0x04, 0x01, 0x12}, 48, ""},                              // AS112-v6
    {{0x20, 0x01, 0x00, 0x20}, 28, ""},                                          // ORCHIDv2
    {{0x20, 0x01, 0x00, 0x30}, 28, ""},                                          // drone DETs
    {{0x01, 0x00, 0, 0, 0, 0, 0, 0}, 64, "a discard-only (100::/64)"},
    {{0x01, 0x00, 0, 0, 0, 0, 0, 0x01}, 64, "a dummy (100:0:0:1::/64)"},
    {{0x20, 0x01, 0x00, 0x00}, 23, "an IETF protocol assignment (2001::/23)"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "a documentation (2001:db8::/32)"},
    {{0x3f, 0xff}, 20, "a documentation (3fff::/20)"},
    {{0x5f, 0x00}, 16, "a segment-routing (5f00::/16)"},
    {{0xfe, 0x80}, 10, "a link-local"},
    {{0xfe, 0xc0}, 10, "a site-local (fec0::/10)"},
    {{0xfc}, 7, "a unique-local (fc00::/7)"},
    {{0xff}, 8, "a multicast"},
};

bool In6(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& net, int bits) {
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    uint8_t mask = static_cast<uint8_t>(bits >= 8 ? 0xff : 0xff << (8 - bits));
    if ((a[i] & mask) != (net[i] & mask)) return false;
  }
  return true;
}

std::string V6Reason(const std::array<uint8_t, 16>& a) {
  bool zero_head = std::all_of(a.begin(), a.begin() + 10, [](uint8_t b) { return b == 0; });
  if (std::all_of(a.begin(), a.end(), [](uint8_t b) { return b == 0; })) return "an unspecified (::)";
  if (zero_head && a[10] == 0 && a[11] == 0 && a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] == 1) return "a loopback";
  if (zero_head && a[10] == 0xff && a[11] == 0xff) return "an IPv4-mapped";
  if (zero_head && a[10] == 0 && a[11] == 0) return "an IPv4-compatible";
  if (std::all_of(a.begin(), a.begin() + 8, [](uint8_t b) { return b == 0; }) && a[8] == 0xff && a[9] == 0xff &&
      a[10] == 0 && a[11] == 0)
    return "an IPv4-translated (::ffff:0:0:0/96)";
  if (Prefix6(a, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}, 96)) return "a NAT64 (64:ff9b::/96)";
  if (Prefix6(a, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48)) return "a NAT64 (64:ff9b:1::/48)";
  if (Prefix6(a, {0x20, 0x02}, 16)) return V4Reason(&a[2]).empty() ? "" : "a 6to4 address embedding " + V4Reason(&a[2]);
  if (Prefix6(a, {0x20, 0x01, 0x00, 0x00}, 32)) {
    uint8_t client[4] = {uint8_t(~a[12]), uint8_t(~a[13]), uint8_t(~a[14]), uint8_t(~a[15])};
    if (!V4Reason(&a[4]).empty()) return "a Teredo address embedding " + V4Reason(&a[4]);
    if (!V4Reason(client).empty()) return "a Teredo address embedding " + V4Reason(client);
    return "";
  }
  for (const V6Block& b : kV6Blocks)
    if (In6(a, b.net, b.bits)) return b.what;
  return "";
}

}  // namespace

std::string UrlScheme(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || !IsAlpha(text[0])) return "";
  std::string scheme;
  for (char c : text.substr(0, colon)) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '+' || c == '-' || c == '.')) return "";
    scheme.push_back(Lower(c));
  }
  return scheme;
}

Result<Url> ParseUrl(std::string_view text) {
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return Refused("the URL contains a space or control character");
    if (u >= 0x80) return Refused("the URL contains non-ASCII bytes (percent-encode them)");
    if (c == '\\') return Refused("the URL contains a backslash");
  }
  Url out;
  out.scheme = UrlScheme(text);
  if (out.scheme.empty()) return Refused("not a URL");
  std::string_view rest = text.substr(out.scheme.size() + 1);
  if (rest.substr(0, 2) != "//") return Refused("not a URL with a host ('" + out.scheme + "://HOST/...')");
  rest.remove_prefix(2);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  size_t hash = tail.find('#');
  out.has_fragment = hash != std::string_view::npos;
  out.path_query = std::string(tail.substr(0, hash));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    out.has_userinfo = true;
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority, port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Refused("unclosed IPv6 bracket");
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return Refused("junk after the IPv6 address");
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
  } else if (size_t c = authority.rfind(':'); c != std::string_view::npos) {
    has_port = true;
    host = authority.substr(0, c);
    port = authority.substr(c + 1);
  }
  if (has_port) {
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), IsDigit)) return Refused("bad port");
    out.port = std::stoi(std::string(port));
    if (out.port < 1 || out.port > 65535) return Refused("port out of range");
  }
  for (char c : host) out.written_host.push_back(Lower(c));
  if (Status s = ParseHost(host, &out); !s.ok()) return s;
  return out;
}

std::string InternalHostReason(const Url& url) {
  switch (url.host_kind) {
    case Url::HostKind::kName: {
      std::string h = url.host;
      while (!h.empty() && h.back() == '.') h.pop_back();
      if (h == "localhost" || (h.size() > 10 && h.compare(h.size() - 10, 10, ".localhost") == 0))
        return "the host " + url.host + " names this machine";
      return "";
    }
    case Url::HostKind::kIPv4: {
      std::string why = V4Reason(url.address.data());
      return why.empty() ? "" : "the host " + url.host + " is " + why + " address";
    }
    case Url::HostKind::kIPv6: {
      std::string why = V6Reason(url.address);
      if (why.empty()) return "";
      return "the host [" + url.host + "] is " + why + " address";
    }
  }
  return "";
}

std::string InternalAddressReason(std::string_view address) {
  Url url;
  std::string host = address.find(':') != std::string_view::npos ? "[" + std::string(address) + "]" : std::string(address);
  if (!ParseHost(host, &url).ok() || url.host_kind == Url::HostKind::kName) return "not an IP address";
  return InternalHostReason(url);
}

}  // namespace sflow
