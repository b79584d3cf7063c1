// Certificates the TLS tests make for themselves with the `openssl` CLI, once per process, in a
// temporary directory removed at exit: a test CA; server certificates it signed for
// localhost/127.0.0.1 and for another host name; a certificate for localhost from a second CA
// nobody trusts; and a self-signed one for localhost.
#ifndef SFLOW_TESTS_API_TEST_CERTS_H_
#define SFLOW_TESTS_API_TEST_CERTS_H_

#include <string>

namespace sflow {

struct CertPair {
  std::string cert;
  std::string key;
};

struct TestCerts {
  std::string dir;
  std::string ca_cert;   // the CA the client is told to trust
  CertPair localhost;    // CN/SAN localhost + IP 127.0.0.1, signed by the CA
  CertPair other_host;   // SAN wrong.example.invalid, signed by the CA
  CertPair rogue;        // SAN localhost + 127.0.0.1, signed by an untrusted CA
  CertPair self_signed;  // SAN localhost + 127.0.0.1, self-signed
  std::string error;     // why generation failed; empty on success

  // Generated on first use. Check error before use.
  static const TestCerts& Get();
};

}  // namespace sflow

#endif  // SFLOW_TESTS_API_TEST_CERTS_H_
