#include "api/http_url.h"

#include <gtest/gtest.h>

namespace sflow {
namespace {

TEST(HttpUrlTest, ParsesSchemesHostsPortsAndTargets) {
  Result<HttpUrl> a = ParseHttpUrl("https://api.sogni.ai");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->scheme, "https");
  EXPECT_EQ(a->host, "api.sogni.ai");
  EXPECT_EQ(a->port, 443);
  EXPECT_EQ(a->target, "/");

  Result<HttpUrl> b = ParseHttpUrl("HTTP://LocalHost:8787/v1/x?after=3");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->scheme, "http");
  EXPECT_EQ(b->host, "localhost");
  EXPECT_EQ(b->port, 8787);
  EXPECT_EQ(b->target, "/v1/x?after=3");

  Result<HttpUrl> c = ParseHttpUrl("http://[::1]:9/a");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->Authority(), "[::1]:9");

  Result<HttpUrl> d = ParseHttpUrl("http://127.0.0.1?q=1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->port, 80);
  EXPECT_EQ(d->target, "/?q=1");
}

TEST(HttpUrlTest, RefusesWhatItCannotSendSafely) {
  for (const char* bad : {"ftp://host/x", "api.sogni.ai/v1", "https://user:pw@host/", "https://host/a#frag",
                          "https://ho st/", "https://host:0/", "https://host:65536/", "https://host:80a/",
                          "https:///path", "http://[::1/", "https://host:/", "file:///etc/passwd",
                          "https://host/\r\nX: y"}) {
    Result<HttpUrl> r = ParseHttpUrl(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kSecurity) << bad;
  }
}

// The transport uses the plan validator's parser and address policy: every hostile spelling of an
// internal address is refused over https too; only the sandbox's three names, as written, pass.
TEST(HttpUrlTest, RefusesInternalAddressesInEverySpellingExceptTheSandboxNames) {
  for (const char* bad : {"https://%31%32%37.0.0.1/", "https://[::127.0.0.1]/", "https://[64:ff9b::7f00:1]/",
                          "https://[fec0::1]/", "https://exa mple.com/", "https://10.0.0.1/", "https://127.1/",
                          "https://[::ffff:127.0.0.1]/", "https://169.254.169.254/latest", "http://0x7f000001/",
                          "https://[fd00::1]/", "https://api.localhost/", "https://127.0.0.2/"}) {
    Result<HttpUrl> r = ParseHttpUrl(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kSecurity) << bad;
  }
  EXPECT_EQ(ParseHttpUrl("https://%31%32%37.0.0.1/").status().message(),
            "refused URL: the host 127.0.0.1 is a loopback address");
  for (const char* ok : {"http://127.0.0.1:8787/v1", "http://[::1]:9/", "http://LOCALHOST/", "https://localhost:1/",
                         "https://api.sogni.ai/v1/x?y=1", "https://%61pi.sogni.ai/"}) {
    Result<HttpUrl> r = ParseHttpUrl(ok);
    EXPECT_TRUE(r.ok()) << ok << ": " << r.status().ToString();
  }
  EXPECT_EQ(ParseHttpUrl("https://%61pi.sogni.ai/").value().host, "api.sogni.ai");
}

TEST(HttpUrlTest, RefusalNeverQuotesTheCredentials) {
  Result<HttpUrl> r = ParseHttpUrl("https://alice:s3cret-pw@host/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("s3cret"), std::string::npos);
}

TEST(HttpUrlTest, LoopbackIsExactlyTheThreeSandboxNames) {
  for (const char* yes : {"127.0.0.1", "::1", "localhost", "LOCALHOST"}) EXPECT_TRUE(IsLoopbackHostName(yes)) << yes;
  for (const char* no : {"127.1", "0x7f000001", "2130706433", "127.0.0.2", "localhost.", "localhost.example.com",
                         "::ffff:127.0.0.1", "0.0.0.0", "api.sogni.ai", ""})
    EXPECT_FALSE(IsLoopbackHostName(no)) << no;
}

// A public name that resolves to an internal address (DNS rebinding, a poisoned resolver) is
// refused at connect time; only the sandbox's exact names reach loopback, and nothing else.
TEST(HttpUrlTest, ResolvedAddressesAreCheckedAtConnectTime) {
  for (const char* internal : {"127.0.0.1", "127.0.1.1", "::1", "10.1.2.3", "192.168.0.9", "169.254.169.254",
                               "100.64.0.1", "0.0.0.0", "::ffff:10.0.0.1", "64:ff9b::a00:1", "fec0::1", "fd00::1",
                               "fe80::1"})
    EXPECT_NE(ResolvedAddressRefusal("api.example.com", internal), "") << internal;
  for (const char* pub : {"93.184.216.34", "2606:4700::1111"})
    EXPECT_EQ(ResolvedAddressRefusal("api.example.com", pub), "") << pub;
  EXPECT_EQ(ResolvedAddressRefusal("localhost", "127.0.0.1"), "");
  EXPECT_EQ(ResolvedAddressRefusal("127.0.0.1", "127.0.0.1"), "");
  EXPECT_EQ(ResolvedAddressRefusal("::1", "::1"), "");
  EXPECT_NE(ResolvedAddressRefusal("localhost", "10.0.0.1"), "") << "the sandbox's names reach loopback only";
  EXPECT_NE(ResolvedAddressRefusal("vm", "127.0.0.1"), "") << "a machine's own name is not the sandbox's";
  EXPECT_NE(ResolvedAddressRefusal("api.example.com", "not an address"), "");
}

TEST(HttpUrlTest, EncodesComponentsLikeEncodeUriComponent) {
  EXPECT_EQ(EncodeUriComponent("wf / one"), "wf%20%2F%20one");
  EXPECT_EQ(EncodeUriComponent("a-b_c.d!e~f*g'h(i)j"), "a-b_c.d!e~f*g'h(i)j");
  EXPECT_EQ(EncodeUriComponent("?&=#%"), "%3F%26%3D%23%25");
  EXPECT_EQ(EncodeUriComponent("\xc3\xa9"), "%C3%A9");
}

TEST(HttpUrlTest, RedactionDropsTheQuery) {
  EXPECT_EQ(RedactUrl("https://s3.example/obj?X-Amz-Signature=abc"), "https://s3.example/obj");
  Result<HttpUrl> u = ParseHttpUrl("https://s3.example/obj?X-Amz-Signature=abc");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->Redacted(), "https://s3.example:443/obj");
}

}  // namespace
}  // namespace sflow
