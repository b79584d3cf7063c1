// The transport's TLS policy against real TLS servers on 127.0.0.1, with certificates the test
// makes itself (test_certs.h): a trusted CA and a matching name work; a wrong host name, an
// untrusted issuer, a self-signed certificate, an old protocol all fail kSecurity, without a
// prompt, inside Poco::Util::Application too.
#include <chrono>
#include <iostream>
#include <thread>

#include <Poco/Net/Context.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Util/Application.h>
#include <gtest/gtest.h>

#include "api/http_transport.h"
#include "tests/api/loopback_server.h"
#include "tests/api/test_certs.h"

namespace sflow {
namespace {

using namespace std::chrono_literals;

class TlsTransportTest : public testing::Test {
 protected:
  void SetUp() override {
    const TestCerts& c = TestCerts::Get();
    ASSERT_TRUE(c.error.empty()) << c.error;
  }
  static const TestCerts& Certs() { return TestCerts::Get(); }

  std::unique_ptr<LoopbackServer> Serve(const CertPair& cert, bool old_protocol = false) {
    LoopbackServer::Options o;
    o.cert_file = cert.cert;
    o.key_file = cert.key;
    o.tls_1_1_only = old_protocol;
    return LoopbackServer::Start([](const ServedRequest& rq, ReplyWriter& w) {
      if (rq.target == "/stream") {
        w.Begin(200);
        w.Write("id: 1\ndata: {}\n\n");
        std::this_thread::sleep_for(3s);
        return;
      }
      w.Send(200, "hello over tls");
    }, o);
  }
  static std::unique_ptr<HttpTransport> Transport(const std::string& ca_file) {
    HttpTransportOptions o;
    o.ca_file = ca_file;
    o.connect_timeout = 5s;
    o.receive_timeout = 5s;
    Result<std::unique_ptr<HttpTransport>> t = NewHttpTransport(o);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(t).value() : nullptr;
  }
  static Result<HttpResponse> Get(HttpTransport& t, const std::string& url) {
    HttpRequest r;
    r.url = url;
    r.headers.emplace_back("Authorization", "Bearer sk-canary-tls-0000");
    return t.Send(r);
  }
  static void ExpectSecurity(const Result<HttpResponse>& r, const std::string& host_port) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kSecurity) << r.status().ToString();
    EXPECT_NE(r.status().message().find(host_port), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find("canary"), std::string::npos);
  }
};

TEST_F(TlsTransportTest, TrustedCaAndMatchingNameWork) {
  auto server = Serve(Certs().localhost);
  auto t = Transport(Certs().ca_cert);
  Result<HttpResponse> a = Get(*t, server->Url("/x", "localhost"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->body, "hello over tls");
  Result<HttpResponse> by_ip = Get(*t, server->Url("/x", "127.0.0.1"));  // the IP SAN
  ASSERT_TRUE(by_ip.ok()) << by_ip.status().ToString();
  EXPECT_EQ(server->connections(), 2);  // one kept-alive session per host name
  ASSERT_TRUE(Get(*t, server->Url("/y", "localhost")).ok());
  EXPECT_EQ(server->connections(), 2);
}

TEST_F(TlsTransportTest, WrongHostNameIsASecurityError) {
  auto server = Serve(Certs().other_host);  // valid chain, issued for wrong.example.invalid
  auto t = Transport(Certs().ca_cert);
  Result<HttpResponse> a = Get(*t, server->Url("/x", "localhost"));
  ExpectSecurity(a, "localhost:" + std::to_string(server->port()));
  EXPECT_NE(a.status().message().find("not valid for host name localhost"), std::string::npos) << a.status().message();
  EXPECT_EQ(server->requests(), 0);
}

TEST_F(TlsTransportTest, UntrustedIssuerIsASecurityError) {
  auto server = Serve(Certs().rogue);
  auto t = Transport(Certs().ca_cert);
  Result<HttpResponse> a = Get(*t, server->Url("/x", "localhost"));
  ExpectSecurity(a, "localhost:" + std::to_string(server->port()));
  EXPECT_NE(a.status().message().find("unable to get local issuer certificate"), std::string::npos) << a.status().message();
  EXPECT_EQ(server->requests(), 0);
}

TEST_F(TlsTransportTest, SelfSignedIsASecurityError) {
  auto server = Serve(Certs().self_signed);
  auto t = Transport(Certs().ca_cert);
  Result<HttpResponse> a = Get(*t, server->Url("/x", "localhost"));
  ExpectSecurity(a, "localhost:" + std::to_string(server->port()));
  EXPECT_NE(a.status().message().find("self-signed certificate"), std::string::npos) << a.status().message();
}

TEST_F(TlsTransportTest, TheSystemBundleDoesNotTrustTheTestCa) {
  auto server = Serve(Certs().localhost);
  auto t = Transport("");  // /etc/ssl/certs/ca-certificates.crt
  ExpectSecurity(Get(*t, server->Url("/x", "localhost")), "localhost:");
}

TEST_F(TlsTransportTest, ProtocolsBelowTls12AreRefused) {
  auto server = Serve(Certs().localhost, /*old_protocol=*/true);
  auto t = Transport(Certs().ca_cert);
  ExpectSecurity(Get(*t, server->Url("/x", "localhost")), "localhost:");
}

TEST_F(TlsTransportTest, HttpsToAPlainServerIsASecurityError) {
  // A server that answers in plain text as soon as a client connects (an HTTP server might
  // instead wait for the rest of a "request line", which is a stall, not a TLS verdict).
  Poco::Net::ServerSocket plain(Poco::Net::SocketAddress("127.0.0.1", 0));
  std::thread server([&] {
    Poco::Net::StreamSocket s = plain.acceptConnection();
    const std::string text = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    s.sendBytes(text.data(), static_cast<int>(text.size()));
    s.shutdown();
  });
  auto t = Transport(Certs().ca_cert);
  Result<HttpResponse> a = Get(*t, "https://localhost:" + std::to_string(plain.address().port()) + "/x");
  server.join();
  ExpectSecurity(a, "localhost:");
}

TEST_F(TlsTransportTest, AMissingCaFileIsASecurityError) {
  HttpTransportOptions o;
  o.ca_file = Certs().dir + "/no-such-ca.pem";
  Result<std::unique_ptr<HttpTransport>> t = NewHttpTransport(o);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Status::Code::kSecurity);
}

// Poco::Util::Application is where Poco's defaults turn lax: no host-name check, and a console
// prompt for an untrusted certificate (docs/architecture.md, library pitfalls). The transport ignores all of it.
class LaxApp : public Poco::Util::Application {
 public:
  LaxApp() {
    config().setString("openSSL.client.invalidCertificateHandler.name", "ConsoleCertificateHandler");
    config().setString("openSSL.client.verificationMode", "relaxed");
    config().setBool("openSSL.client.extendedVerification", false);
  }
};

TEST_F(TlsTransportTest, UtilApplicationChangesNothingAndNeverPrompts) {
  LaxApp app;
  auto wrong_name = Serve(Certs().other_host);
  auto untrusted = Serve(Certs().rogue);
  auto t = Transport(Certs().ca_cert);
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  Result<HttpResponse> a = Get(*t, wrong_name->Url("/x", "localhost"));
  Result<HttpResponse> b = Get(*t, untrusted->Url("/x", "localhost"));
  std::string out = testing::internal::GetCapturedStdout() + testing::internal::GetCapturedStderr();
  ExpectSecurity(a, "localhost:");
  ExpectSecurity(b, "localhost:");
  EXPECT_EQ(out.find("Accept the certificate"), std::string::npos) << out;
  // Code that asks SSLManager for its default context gets a strict one, not the app config's.
  Poco::Net::Context::Ptr fallback = Poco::Net::SSLManager::instance().defaultClientContext();
  ASSERT_FALSE(fallback.isNull());
  EXPECT_EQ(fallback->verificationMode(), Poco::Net::Context::VERIFY_STRICT);
}

}  // namespace
}  // namespace sflow
