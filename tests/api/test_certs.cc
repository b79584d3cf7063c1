#include "tests/api/test_certs.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace sflow {

namespace {

// A config of our own, so the system openssl.cnf (and its default extensions) does not matter.
constexpr char kConfig[] = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_self]
basicConstraints = critical,CA:FALSE
subjectAltName = DNS:localhost,IP:127.0.0.1
)";

constexpr char kLeafLocalhost[] =
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
constexpr char kLeafOther[] =
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    "subjectAltName=DNS:wrong.example.invalid\n";

struct Maker {
  std::string dir;
  std::string error;

  std::string P(const std::string& name) const { return dir + "/" + name; }
  void Write(const std::string& name, const std::string& text) const { std::ofstream(P(name)) << text; }
  bool Run(const std::string& args) {
    if (!error.empty()) return false;
    std::string cmd = "cd '" + dir + "' && openssl " + args + " >>'" + P("openssl.log") + "' 2>&1";
    if (std::system(cmd.c_str()) != 0) error = "openssl " + args + " failed; see " + P("openssl.log");
    return error.empty();
  }
  static std::string Key() { return "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"; }
  void Ca(const std::string& name, const std::string& cn) {
    Run("req -x509 -config openssl.cnf -extensions v3_ca " + Key() + " -keyout " + name + ".key -out " + name +
        ".crt -days 3 -subj '/CN=" + cn + "'");
  }
  CertPair Leaf(const std::string& name, const std::string& cn, const std::string& ca, const std::string& ext) {
    Run("req -new -config openssl.cnf " + Key() + " -keyout " + name + ".key -out " + name + ".csr -subj '/CN=" + cn + "'");
    Run("x509 -req -in " + name + ".csr -CA " + ca + ".crt -CAkey " + ca + ".key -CAcreateserial -days 3 -out " + name +
        ".crt -extfile " + ext);
    return {P(name + ".crt"), P(name + ".key")};
  }
};

struct Holder {
  TestCerts certs;
  ~Holder() {
    std::error_code ec;
    if (!certs.dir.empty()) std::filesystem::remove_all(certs.dir, ec);
  }
};

}  // namespace

const TestCerts& TestCerts::Get() {
  static Holder holder = [] {
    Holder h;
    std::string base = std::filesystem::temp_directory_path().string() + "/sflow-certs-XXXXXX";
    std::vector<char> buf(base.begin(), base.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) {
      h.certs.error = "mkdtemp failed";
      return h;
    }
    Maker m{buf.data(), ""};
    h.certs.dir = m.dir;
    m.Write("openssl.cnf", kConfig);
    m.Write("leaf_localhost.ext", kLeafLocalhost);
    m.Write("leaf_other.ext", kLeafOther);
    m.Ca("ca", "sflow test CA");
    m.Ca("rogue_ca", "sflow rogue CA");
    h.certs.ca_cert = m.P("ca.crt");
    h.certs.localhost = m.Leaf("localhost", "localhost", "ca", "leaf_localhost.ext");
    h.certs.other_host = m.Leaf("other", "wrong.example.invalid", "ca", "leaf_other.ext");
    h.certs.rogue = m.Leaf("rogue", "localhost", "rogue_ca", "leaf_localhost.ext");
    m.Run("req -x509 -config openssl.cnf -extensions v3_self " + Maker::Key() +
          " -keyout self.key -out self.crt -days 3 -subj '/CN=localhost'");
    h.certs.self_signed = {m.P("self.crt"), m.P("self.key")};
    h.certs.error = m.error;
    return h;
  }();
  return holder.certs;
}

}  // namespace sflow
