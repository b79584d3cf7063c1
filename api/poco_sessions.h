// Internal to api/ (the only files that may include Poco headers in a header of ours): the strict
// connection pieces every Poco client of the API shares, the REST transport
// (poco_http_transport.cc) and the projects WebSocket (projects_socket.cc).
//
//  * Each session overrides connect(): a plain session checks that the resolved address is
//    loopback (so a name that resolves elsewhere is refused at connect time too); a TLS session
//    refuses an internal resolved address (engine/url.h) unless the name is the sandbox's exact
//    loopback name, then connects TCP itself so that the handshake runs under the receive
//    timeout, then attaches TLS with the host name to verify. The phase reached tells a
//    certificate problem (kSecurity) from a network one (kUnavailable).
//  * The TLS context is strict (VERIFY_STRICT, host-name verification, TLS >= 1.2, only the given
//    CA file), and SSLManager's process-wide certificate handler rejects and records the reason
//    (InstallStrictTlsDefaults, http_transport.h), so no code path reaches a console prompt.
#ifndef SFLOW_API_POCO_SESSIONS_H_
#define SFLOW_API_POCO_SESSIONS_H_

#include <chrono>
#include <mutex>
#include <string>

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Timespan.h>

#include "api/http_transport.h"
#include "api/http_url.h"
#include "engine/status.h"

namespace sflow::poco_net {

inline constexpr char kSystemCaBundle[] = "/etc/ssl/certs/ca-certificates.crt";

enum class Phase { kIdle, kConnect, kHandshake, kExchange };

// What a session's connect() leaves behind for the error mapping.
struct ConnState {
  Phase phase = Phase::kIdle;
  bool refused_address = false;  // plain http resolved to a non-loopback address
  std::string internal_address;  // https to a public name that resolved to this internal address
  std::string verify_error;      // the first certificate problem OpenSSL reported
  StreamCancel* cancel = nullptr;  // attached to the socket as soon as it exists
};

inline Poco::Timespan Span(std::chrono::milliseconds ms) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(ms.count()) * 1000);
}

// The strict client context over `ca_file` ("" = the system bundle), loaded once per process
// and file: every caller of one file shares the object. kSecurity when the file cannot be read
// or loaded. Calls InstallStrictTlsDefaults().
Result<Poco::Net::Context::Ptr> StrictTlsContext(const std::string& ca_file);

// kSecurity unless `ca_file` ("" = the system bundle) is a regular file: what a transport checks
// when it is made, so that a wrong --ca-file is said at once, not at the first https request.
Status CheckCaFile(const std::string& ca_file);

// StrictTlsContext(ca_file) at its first Get(), from any thread: a process that only talks
// plain http to the sandbox never loads a CA bundle.
class LazyTlsContext {
 public:
  explicit LazyTlsContext(std::string ca_file);
  Result<Poco::Net::Context::Ptr> Get();

 private:
  const std::string ca_file_;
  std::mutex mu_;
  Poco::Net::Context::Ptr ctx_;
};

// Plain http:// refused beyond the sandbox's loopback names (kSecurity), as the transport does.
Status CheckPlainAllowed(const HttpUrl& url);

// What every request of the transport and the stream loop is checked for before a connection:
// its URL (ParseHttpUrl, CheckPlainAllowed) and its headers (SendableHeader, else kInternal).
Result<HttpUrl> CheckRequest(const HttpRequest& request);

class PlainSession : public Poco::Net::HTTPClientSession {
 public:
  PlainSession(const HttpUrl& url, ConnState* state);

 protected:
  void connect(const Poco::Net::SocketAddress& address) override;

 private:
  ConnState* state_;
};

struct SessionTimeouts {
  std::chrono::milliseconds connect{10000}, send{30000}, receive{30000};
};

class TlsSession : public Poco::Net::HTTPSClientSession {
 public:
  TlsSession(const HttpUrl& url, Poco::Net::Context::Ptr ctx, ConnState* state, const SessionTimeouts& timeouts);

 protected:
  void connect(const Poco::Net::SocketAddress& address) override;

 private:
  std::string host_;
  Poco::Net::Context::Ptr ctx_;
  ConnState* state_;
  Poco::Timespan connect_timeout_, send_timeout_, receive_timeout_;
};

// The Status for an exception a session threw: kCancelled when its cancel fired, kSecurity for
// refused addresses and certificate or handshake failures, kUnavailable for network trouble.
// Messages name the host and port, never a query or a header.
Status MapFailure(const Poco::Exception& e, const ConnState& st, const HttpUrl& url);

}  // namespace sflow::poco_net

#endif  // SFLOW_API_POCO_SESSIONS_H_
