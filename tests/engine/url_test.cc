// engine/url.h: the one URL parser and address policy (plan media and the transport). The tables
// are the hostile spellings a reviewer or an attacker tries first.
#include "engine/url.h"

#include <gtest/gtest.h>

#include "engine/media.h"

namespace sflow {
namespace {

std::string Host(const std::string& url) {
  Result<Url> u = ParseUrl(url);
  return u.ok() ? u->host : "error: " + u.status().message();
}

TEST(UrlTest, NormalisesHostsTheWayClientsReadThem) {
  EXPECT_EQ(Host("https://CDN.Example.COM/a.png"), "cdn.example.com");
  EXPECT_EQ(Host("https://%31%32%37.0.0.1/a.png"), "127.0.0.1");
  EXPECT_EQ(Host("https://%6c%6fcalhost/"), "localhost");
  EXPECT_EQ(Host("https://127.1/"), "127.0.0.1");
  EXPECT_EQ(Host("https://0x7f000001/"), "127.0.0.1");
  EXPECT_EQ(Host("https://2130706433/"), "127.0.0.1");
  EXPECT_EQ(Host("https://0177.0.0.1/"), "127.0.0.1");
  EXPECT_EQ(Host("https://0x7f.1/"), "127.0.0.1");
  EXPECT_EQ(Host("https://10.0.1/"), "10.0.0.1");
  EXPECT_EQ(Host("https://127.0.0.1./"), "127.0.0.1");
  EXPECT_EQ(Host("https://0/"), "0.0.0.0");
  EXPECT_EQ(Host("https://[::127.0.0.1]/"), "::7f00:1");
  EXPECT_EQ(Host("https://[::FFFF:127.0.0.1]/"), "::ffff:7f00:1");
  EXPECT_EQ(Host("https://[64:ff9b::7f00:1]/"), "64:ff9b::7f00:1");
  EXPECT_EQ(Host("https://[2001:DB8:0:0:0:0:0:1]/"), "2001:db8::1");
  EXPECT_EQ(Host("https://[1:0:0:2:0:0:0:3]/"), "1:0:0:2::3");
}

TEST(UrlTest, RefusesWhatHidesTheRealHost) {
  for (const char* bad : {"https://exa mple.com/a.png", "https://example.com/a b", "https://ex\tample.com/",
                          "https://example.com\\@evil.com/", "https://ex%zzample.com/", "https://ex%2fample.com/",
                          "https://ex%00ample.com/", "https://%C3%A9xample.com/", "https://\xc3\xa9xample.com/",
                          "https://256.0.0.1/", "https://1.2.3.4.5/", "https://0x100000000/", "https://1.2.3.09/",
                          "https://[::1%25eth0]/", "https://[1:2:3:4:5:6:7:8:9]/", "https://[1::2::3]/",
                          "https://[::1.2.3]/", "https://[::01.2.3.4]/", "https://[12345::]/", "https://[::1/",
                          "https:///path", "https://host:0/", "https://host:65536/", "https://host:/", "https://[::1]x/",
                          "example.com/a.png", "https:example.com"}) {
    Result<Url> u = ParseUrl(bad);
    EXPECT_FALSE(u.ok()) << bad << " -> " << (u.ok() ? u->host : "");
    if (!u.ok()) {
      EXPECT_EQ(u.status().code(), Status::Code::kSecurity) << bad;
    }
  }
}

TEST(UrlTest, KeepsThePartsApart) {
  Result<Url> u = ParseUrl("HTTPS://user:pw@Host.example:8443/p/a.png?sig=1#frag");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_TRUE(u->has_userinfo);
  EXPECT_EQ(u->host, "host.example");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->path_query, "/p/a.png?sig=1");
  EXPECT_TRUE(u->has_fragment);
  // The last '@' ends the user info, as clients read it: the host is evil.example.
  EXPECT_EQ(Host("https://good.example@evil.example/"), "evil.example");
}

// Every address class the policy refuses, in the spelling that used to get through where there is one.
TEST(UrlTest, RefusesInternalAddressesInEverySpelling) {
  const std::pair<const char*, const char*> kHostile[] = {
      {"https://%31%32%37.0.0.1/a.png", "the host 127.0.0.1 is a loopback address"},
      {"https://[::127.0.0.1]/", "the host [::7f00:1] is an IPv4-compatible address"},
      {"https://[64:ff9b::7f00:1]/", "the host [64:ff9b::7f00:1] is a NAT64 (64:ff9b::/96) address"},
      {"https://[64:ff9b:1::a00:1]/", "the host [64:ff9b:1::a00:1] is a NAT64 (64:ff9b:1::/48) address"},
      {"https://[fec0::1]/", "the host [fec0::1] is a site-local (fec0::/10) address"},
      {"https://[fd12:3456::1]/", "the host [fd12:3456::1] is a unique-local (fc00::/7) address"},
      {"https://[fe80::1]/", "the host [fe80::1] is a link-local address"},
      {"https://[ff02::1]/", "the host [ff02::1] is a multicast address"},
      {"https://[::1]/", "the host [::1] is a loopback address"},
      {"https://[::]/", "the host [::] is an unspecified (::) address"},
      {"https://[::ffff:8.8.8.8]/", "the host [::ffff:808:808] is an IPv4-mapped address"},
      {"https://[::ffff:0:a00:1]/", "the host [::ffff:0:a00:1] is an IPv4-translated (::ffff:0:0:0/96) address"},
      {"https://[2002:c0a8:101::1]/", "the host [2002:c0a8:101::1] is a 6to4 address embedding a private address"},
      {"https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
       "the host [2001:0:4136:e378:8000:63bf:80ff:fffe] is a Teredo address embedding a loopback address"},
      {"https://[2001:0:a00:1::1]/", "the host [2001:0:a00:1::1] is a Teredo address embedding a private address"},
      {"https://127.1/", "the host 127.0.0.1 is a loopback address"},
      {"https://0x7f000001/", "the host 127.0.0.1 is a loopback address"},
      {"https://2130706433/", "the host 127.0.0.1 is a loopback address"},
      {"https://0177.0.0.1/", "the host 127.0.0.1 is a loopback address"},
      {"https://10.1.2.3/", "the host 10.1.2.3 is a private address"},
      {"https://172.31.255.255/", "the host 172.31.255.255 is a private address"},
      {"https://192.168.0.1/", "the host 192.168.0.1 is a private address"},
      {"https://169.254.169.254/", "the host 169.254.169.254 is a link-local address"},
      {"https://100.64.0.1/", "the host 100.64.0.1 is a shared (CGNAT, 100.64.0.0/10) address"},
      {"https://0.0.0.0/", "the host 0.0.0.0 is an unspecified (0.0.0.0/8) address"},
      {"https://224.0.0.1/", "the host 224.0.0.1 is a multicast address"},
      {"https://255.255.255.255/", "the host 255.255.255.255 is the broadcast address"},
      {"https://240.0.0.1/", "the host 240.0.0.1 is a reserved (240.0.0.0/4) address"},
      // The IANA special-purpose registries' rows that are not globally reachable.
      {"https://198.18.0.1/", "the host 198.18.0.1 is a benchmarking (198.18.0.0/15) address"},
      {"https://198.19.255.255/", "the host 198.19.255.255 is a benchmarking (198.18.0.0/15) address"},
      {"https://192.0.0.1/", "the host 192.0.0.1 is an IETF protocol assignment (192.0.0.0/24) address"},
      {"https://192.0.0.170/", "the host 192.0.0.170 is an IETF protocol assignment (192.0.0.0/24) address"},
      {"https://192.0.2.1/", "the host 192.0.2.1 is a documentation (192.0.2.0/24) address"},
      {"https://198.51.100.7/", "the host 198.51.100.7 is a documentation (198.51.100.0/24) address"},
      {"https://203.0.113.9/", "the host 203.0.113.9 is a documentation (203.0.113.0/24) address"},
      {"https://192.88.99.1/", "the host 192.88.99.1 is a deprecated 6to4 relay anycast (192.88.99.0/24) address"},
      {"https://[2001:db8::1]/", "the host [2001:db8::1] is a documentation (2001:db8::/32) address"},
      {"https://[3fff:fff::1]/", "the host [3fff:fff::1] is a documentation (3fff::/20) address"},
      {"https://[100::1]/", "the host [100::1] is a discard-only (100::/64) address"},
      {"https://[100:0:0:1::5]/", "the host [100:0:0:1::5] is a dummy (100:0:0:1::/64) address"},
      {"https://[2001:2::1]/", "the host [2001:2::1] is an IETF protocol assignment (2001::/23) address"},
      {"https://[2001:1ff::1]/", "the host [2001:1ff::1] is an IETF protocol assignment (2001::/23) address"},
      {"https://[2001:1::4]/", "the host [2001:1::4] is an IETF protocol assignment (2001::/23) address"},
      {"https://[5f00::1]/", "the host [5f00::1] is a segment-routing (5f00::/16) address"},
      {"https://localhost/", "the host localhost names this machine"},
      {"https://LOCALHOST./", "the host localhost. names this machine"},
      {"https://a.b.localhost/", "the host a.b.localhost names this machine"},
  };
  for (const auto& [url, why] : kHostile) {
    Result<Url> u = ParseUrl(url);
    ASSERT_TRUE(u.ok()) << url << ": " << u.status().ToString();
    EXPECT_EQ(InternalHostReason(*u), why) << url;
    EXPECT_EQ(CheckMediaUrl(url), why) << url;
  }
}

// The normalised host is a fixed point: parsing it again gives the same host and the same verdict.
TEST(UrlTest, NormalisedHostsParseToThemselves) {
  for (const char* url : {"https://%31%32%37.0.0.1/", "https://0X7F000001/", "https://0x7f.0x0.0x0.0x1/",
                          "https://017700000001/", "https://[::FFFF:127.0.0.1]/", "https://[0:0:0:0:0:0:0:1]/",
                          "https://[2001:db8:0:0:1:0:0:1]/", "https://CDN.Example.com./", "https://4294967295/"}) {
    Result<Url> a = ParseUrl(url);
    ASSERT_TRUE(a.ok()) << url << ": " << a.status().ToString();
    std::string again = "https://" + (a->host_kind == Url::HostKind::kIPv6 ? "[" + a->host + "]" : a->host) + "/";
    Result<Url> b = ParseUrl(again);
    ASSERT_TRUE(b.ok()) << again;
    EXPECT_EQ(b->host, a->host) << url;
    EXPECT_EQ(b->address, a->address) << url;
    EXPECT_EQ(InternalHostReason(*b).empty(), InternalHostReason(*a).empty()) << url;
  }
  EXPECT_EQ(Host("https://[2001:db8:0:0:1:0:0:1]/"), "2001:db8::1:0:0:1");
  EXPECT_EQ(Host("https://4294967295/"), "255.255.255.255");
}

// For connect-time checks of resolved addresses.
TEST(UrlTest, ResolvedAddressesFollowTheSameRules) {
  EXPECT_EQ(InternalAddressReason("10.0.0.1"), "the host 10.0.0.1 is a private address");
  EXPECT_EQ(InternalAddressReason("::ffff:169.254.169.254"), "the host [::ffff:a9fe:a9fe] is an IPv4-mapped address");
  EXPECT_EQ(InternalAddressReason("fe80::1"), "the host [fe80::1] is a link-local address");
  EXPECT_EQ(InternalAddressReason("93.184.216.34"), "");
  EXPECT_EQ(InternalAddressReason("2606:2800:220:1::1"), "");
  EXPECT_EQ(InternalAddressReason("example.com"), "not an IP address");
  EXPECT_EQ(InternalAddressReason("fe80::1%eth0"), "not an IP address");
}

TEST(UrlTest, PublicHostsPass) {
  // The registries' globally reachable exceptions inside refused blocks, and their neighbours.
  for (const char* ok : {"https://192.0.0.9/", "https://192.0.0.10/", "https://[2001:1::1]/", "https://[2001:1::3]/",
                         "https://[2001:3::1]/", "https://[2001:4:112::1]/", "https://[2001:20::1]/",
                         "https://[2001:3f:ffff::1]/", "https://[2001:200::1]/", "https://198.20.0.1/",
                         "https://192.0.1.1/", "https://[4000::1]/", "https://[101::1]/"}) {
    Result<Url> u = ParseUrl(ok);
    ASSERT_TRUE(u.ok()) << ok << ": " << u.status().ToString();
    EXPECT_EQ(InternalHostReason(*u), "") << ok;
  }
  for (const char* ok : {"https://cdn.example.com/a.png", "https://8.8.8.8/", "https://[2001:4860::8888]/",
                         "https://[2606:4700::1111]/", "https://172.32.0.1/", "https://100.128.0.1/",
                         "https://[2002:808:808::1]/", "https://[2001:0:808:808::f7f7:f7f7]/",
                         "https://localhost.example.com/", "https://my_host.example/"}) {
    Result<Url> u = ParseUrl(ok);
    ASSERT_TRUE(u.ok()) << ok << ": " << u.status().ToString();
    EXPECT_EQ(InternalHostReason(*u), "") << ok;
  }
}

}  // namespace
}  // namespace sflow
