// The real sogni-flow binary against TLS servers on 127.0.0.1 with certificates the test makes
// itself (tests/api/test_certs.h). The binary trusts the test CA through SSL_CERT_FILE, so:
//  * a certificate from that CA for another host name is refused for its name alone;
//  * a certificate for 127.0.0.1 from a CA it does not trust is refused for its issuer;
// both with exit 7, a message naming the reason, no prompt (stdin is a pipe that stays open and
// silent: a prompt would hang until the test kills it), no request reaching the server, and the
// API key in neither output. A control (the trusted CA, the right name) gets past TLS to the
// server's 401: exit 3.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/api/loopback_server.h"
#include "tests/api/test_certs.h"

namespace sflow {
namespace {

using namespace std::chrono_literals;

constexpr char kCanary[] = "sk-canary-tls-binary-7d1e0c";
constexpr auto kKillAfter = 20s;

struct Ran {
  int exit_code = -1;  // -1: killed after kKillAfter, or did not exit normally
  bool timed_out = false;
  std::string out;
  std::string err;
  std::chrono::milliseconds took{0};
};

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

class TlsBinaryTest : public testing::Test {
 protected:
  void SetUp() override {
    const TestCerts& c = TestCerts::Get();
    ASSERT_TRUE(c.error.empty()) << c.error;
    std::string base = std::filesystem::temp_directory_path().string() + "/sflow-tls-bin-XXXXXX";
    std::vector<char> buf(base.begin(), base.end());
    buf.push_back('\0');
    ASSERT_NE(::mkdtemp(buf.data()), nullptr);
    dir_ = buf.data();
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  static const TestCerts& Certs() { return TestCerts::Get(); }

  std::unique_ptr<LoopbackServer> Serve(const CertPair& cert) {
    LoopbackServer::Options o;
    o.cert_file = cert.cert;
    o.key_file = cert.key;
    return LoopbackServer::Start([](const ServedRequest&, ReplyWriter& w) {
      w.Send(401, R"({"status":"error","message":"invalid api key","errorCode":401})",
             {{"Content-Type", "application/json"}});
    }, o);
  }

  // `sogni-flow templates list --api-url URL --json` in a scratch directory, with only the
  // environment below; killed after kKillAfter.
  Ran RunBinary(const std::string& url, const std::string& ca_file) {
    Ran ran;
    const std::string out_path = dir_ + "/stdout", err_path = dir_ + "/stderr";
    std::vector<std::string> args = {SFLOW_BIN, "templates", "list", "--api-url", url, "--json"};
    std::vector<std::string> env = {"PATH=/usr/bin:/bin", "HOME=" + dir_, "LC_ALL=C",
                                    "SOGNI_FLOW_STATE_DIR=" + dir_ + "/state",
                                    std::string("SOGNI_API_KEY=") + kCanary};
    if (!ca_file.empty()) env.push_back("SSL_CERT_FILE=" + ca_file);
    std::vector<char*> argv, envp;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return ADD_FAILURE() << "pipe2", ran;
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0 || err < 0) return ADD_FAILURE() << "open output files", ran;

    auto start = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    if (pid == 0) {  // only async-signal-safe calls from here on
      if (::dup2(in[0], 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0 || ::chdir(dir_.c_str()) != 0) ::_exit(126);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out);
    ::close(err);
    if (pid < 0) {
      ::close(in[1]);
      return ADD_FAILURE() << "fork", ran;
    }
    // in[1] stays open and silent until the child is gone: a prompt would block, not read EOF.
    int wstatus = 0;
    for (;;) {
      pid_t w = ::waitpid(pid, &wstatus, WNOHANG);
      if (w == pid) break;
      if (std::chrono::steady_clock::now() - start > kKillAfter) {
        ran.timed_out = true;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &wstatus, 0);
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
    ::close(in[1]);
    ran.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (!ran.timed_out && WIFEXITED(wstatus)) ran.exit_code = WEXITSTATUS(wstatus);
    ran.out = Slurp(out_path);
    ran.err = Slurp(err_path);
    return ran;
  }

  static void ExpectRefused(const Ran& r, const std::string& reason) {
    SCOPED_TRACE("stdout: " + r.out + "\nstderr: " + r.err);
    EXPECT_FALSE(r.timed_out) << "still running after 20 s (waiting for a prompt answer?)";
    EXPECT_EQ(r.exit_code, 7);
    EXPECT_NE(r.err.find(reason), std::string::npos) << "stderr should name the reason: " << reason;
    EXPECT_NE(r.err.find("127.0.0.1"), std::string::npos);
    EXPECT_EQ(r.out, "");
    for (const std::string* s : {&r.out, &r.err}) {
      EXPECT_EQ(s->find(kCanary), std::string::npos);
      EXPECT_EQ(s->find("(y,n)"), std::string::npos);  // Poco's ConsoleCertificateHandler prompt
      EXPECT_EQ(s->find("Accept the certificate"), std::string::npos);
    }
  }

  std::string dir_;
};

TEST_F(TlsBinaryTest, AnotherHostNamesCertificateFromATrustedCaExits7) {
  // Valid chain to the CA in SSL_CERT_FILE, but issued for wrong.example.invalid only (no IP SAN).
  auto server = Serve(Certs().other_host);
  Ran r = RunBinary(server->Url(""), Certs().ca_cert);
  ExpectRefused(r, "not valid for host name 127.0.0.1");
  EXPECT_EQ(server->requests(), 0);
  std::cerr << "[ wrong host name: exit " << r.exit_code << " in " << r.took.count() << " ms ] " << r.err;
}

TEST_F(TlsBinaryTest, ACertificateFromAnUntrustedCaExits7) {
  // Issued for 127.0.0.1 by a second CA; SSL_CERT_FILE names only the test CA.
  auto server = Serve(Certs().rogue);
  Ran r = RunBinary(server->Url(""), Certs().ca_cert);
  ExpectRefused(r, "unable to get local issuer certificate");
  EXPECT_EQ(server->requests(), 0);
  std::cerr << "[ untrusted CA: exit " << r.exit_code << " in " << r.took.count() << " ms ] " << r.err;
}

TEST_F(TlsBinaryTest, TheTrustedCaAndTheRightNameGetPastTls) {
  // The control: same CA file, a certificate for 127.0.0.1. The server's 401 is exit 3.
  auto server = Serve(Certs().localhost);
  Ran r = RunBinary(server->Url(""), Certs().ca_cert);
  SCOPED_TRACE("stdout: " + r.out + "\nstderr: " + r.err);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_GE(server->requests(), 1);
  EXPECT_EQ(r.err.find("TLS"), std::string::npos);
  EXPECT_EQ(r.out.find(kCanary), std::string::npos);
  EXPECT_EQ(r.err.find(kCanary), std::string::npos);
  std::cerr << "[ control: exit " << r.exit_code << " in " << r.took.count() << " ms ] " << r.err;
}

TEST_F(TlsBinaryTest, WithoutSslCertFileTheTestCaIsNotTrusted) {
  // The system bundle does not hold the test CA: the same good certificate is refused.
  auto server = Serve(Certs().localhost);
  Ran r = RunBinary(server->Url(""), "");
  ExpectRefused(r, "TLS");
  EXPECT_EQ(server->requests(), 0);
}

// SSL_CERT_FILE naming no file is said at once, naming the variable; one that is there but is
// not PEM is loaded at the first https connection and said then, naming the file.
TEST_F(TlsBinaryTest, ABadSslCertFileIsSaidByNameAndNothingIsSent) {
  auto server = Serve(Certs().localhost);
  Ran missing = RunBinary(server->Url(""), dir_ + "/no-such-ca.pem");
  EXPECT_EQ(missing.exit_code, 7) << missing.err;
  EXPECT_NE(missing.err.find("SSL_CERT_FILE: cannot read the CA file " + dir_ + "/no-such-ca.pem"), std::string::npos)
      << missing.err;
  const std::string junk = dir_ + "/junk.pem";
  {
    std::ofstream f(junk);
    f << "not a certificate\n";
  }
  Ran bad = RunBinary(server->Url(""), junk);
  EXPECT_EQ(bad.exit_code, 7) << bad.err;
  EXPECT_NE(bad.err.find("cannot load the CA file " + junk), std::string::npos) << bad.err;
  EXPECT_EQ(server->requests(), 0);
  for (const Ran* r : {&missing, &bad}) EXPECT_EQ(r->err.find(kCanary), std::string::npos);
}

}  // namespace
}  // namespace sflow
