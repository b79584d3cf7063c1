#include "api/poco_sessions.h"

#include <sys/stat.h>

#include <map>
#include <mutex>

#include <Poco/Net/InvalidCertificateHandler.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/VerificationErrorArgs.h>

namespace sflow {

namespace {

using poco_net::ConnState;
using poco_net::Phase;

// The handshake in progress on this thread, for the certificate handler (OpenSSL calls it
// synchronously from inside the handshake).
thread_local ConnState* t_handshake = nullptr;

class RejectingCertificateHandler : public Poco::Net::InvalidCertificateHandler {
 public:
  RejectingCertificateHandler() : InvalidCertificateHandler(/*handleErrorsOnServerSide=*/false) {}
  void onInvalidCertificate(const void*, Poco::Net::VerificationErrorArgs& args) override {
    args.setIgnoreError(false);
    if (t_handshake && t_handshake->verify_error.empty())
      t_handshake->verify_error = args.errorMessage() + " (certificate \"" + args.certificate().commonName() + "\")";
  }
};

// The file's identity, or "" when it is not a regular file stat can see.
std::string FileIdentity(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

// VERIFY_STRICT (peer certificate required and checked, and no loopback exemption from the
// host-name check), extended host-name verification, TLS >= 1.2, only the given CA file.
Poco::Net::Context::Ptr MakeStrictContext(const std::string& ca_file) {
  Poco::Net::Context::Params p;
  p.caLocation = ca_file;
  p.verificationMode = Poco::Net::Context::VERIFY_STRICT;
  p.verificationDepth = 9;
  p.loadDefaultCAs = false;
  p.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES";
  Poco::Net::Context::Ptr ctx = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, p);
  ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  ctx->enableExtendedCertificateVerification(true);
  return ctx;
}

// One context per CA file (path and identity: a file replaced on disk is loaded again) for the
// whole process. Loading the system bundle costs about 10 ms of CPU; the transport, the stream
// loop and SSLManager's fallback each loaded it, on every start, https or not.
Result<Poco::Net::Context::Ptr> LoadOnce(const std::string& ca) {
  const std::string id = FileIdentity(ca);
  if (id.empty()) return Status::Security("cannot read the CA file " + ca);
  static std::mutex mu;
  static std::map<std::string, Poco::Net::Context::Ptr> loaded;
  std::lock_guard<std::mutex> lock(mu);
  Poco::Net::Context::Ptr& slot = loaded[ca + '\n' + id];
  if (!slot) {
    try {
      slot = MakeStrictContext(ca);
    } catch (const Poco::Exception& e) {
      return Status::Security("cannot load the CA file " + ca + ": " + e.message());
    }
  }
  return slot;
}

}  // namespace

void InstallStrictTlsDefaults() {
  static std::once_flag once;
  std::call_once(once, [] {
    Poco::Net::initializeSSL();
    // For code that asks SSLManager for a default context: the strict one over the system
    // bundle, the same object StrictTlsContext("") returns.
    Result<Poco::Net::Context::Ptr> fallback = LoadOnce(poco_net::kSystemCaBundle);
    Poco::Net::SSLManager::instance().initializeClient(Poco::Net::SSLManager::PrivateKeyPassphraseHandlerPtr(),
                                                       new RejectingCertificateHandler,
                                                       fallback.ok() ? *fallback : Poco::Net::Context::Ptr());
  });
}

namespace poco_net {

Result<Poco::Net::Context::Ptr> StrictTlsContext(const std::string& ca_file) {
  InstallStrictTlsDefaults();
  return LoadOnce(ca_file.empty() ? kSystemCaBundle : ca_file);
}

Status CheckCaFile(const std::string& ca_file) {
  const std::string ca = ca_file.empty() ? kSystemCaBundle : ca_file;
  if (FileIdentity(ca).empty()) return Status::Security("cannot read the CA file " + ca);
  return Status::OK();
}

LazyTlsContext::LazyTlsContext(std::string ca_file) : ca_file_(std::move(ca_file)) {}

Result<Poco::Net::Context::Ptr> LazyTlsContext::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!ctx_) {
    Result<Poco::Net::Context::Ptr> r = StrictTlsContext(ca_file_);
    if (!r.ok()) return r.status();
    ctx_ = *r;
  }
  return ctx_;
}

Status CheckPlainAllowed(const HttpUrl& url) {
  if (!url.secure() && !IsLoopbackHostName(url.host))
    return Status::Security("refusing plain http:// to " + url.host + ": only https is allowed beyond loopback");
  return Status::OK();
}

Result<HttpUrl> CheckRequest(const HttpRequest& request) {
  Result<HttpUrl> url = ParseHttpUrl(request.url);
  if (!url.ok()) return url.status();
  if (Status plain = CheckPlainAllowed(*url); !plain.ok()) return plain;
  for (const auto& [k, v] : request.headers)
    if (!SendableHeader(k, v)) return Status::Internal("request header \"" + k + "\" has a forbidden character");
  return url;
}

PlainSession::PlainSession(const HttpUrl& url, ConnState* state)
    : HTTPClientSession(url.host, static_cast<Poco::UInt16>(url.port)), state_(state) {}

void PlainSession::connect(const Poco::Net::SocketAddress& address) {
  state_->phase = Phase::kConnect;
  if (!address.host().isLoopback()) {
    state_->refused_address = true;
    throw Poco::Net::NetException("refused");
  }
  HTTPClientSession::connect(address);
  socket().setNoDelay(true);
  if (state_->cancel) state_->cancel->Attach(socket().impl()->sockfd());
  state_->phase = Phase::kExchange;
}

TlsSession::TlsSession(const HttpUrl& url, Poco::Net::Context::Ptr ctx, ConnState* state, const SessionTimeouts& t)
    : HTTPSClientSession(url.host, static_cast<Poco::UInt16>(url.port), ctx),
      host_(url.host),
      ctx_(ctx),
      state_(state),
      connect_timeout_(Span(t.connect)),
      send_timeout_(Span(t.send)),
      receive_timeout_(Span(t.receive)) {}

void TlsSession::connect(const Poco::Net::SocketAddress& address) {
  state_->phase = Phase::kConnect;
  // A name checked as public may still resolve to this machine or the local network (DNS
  // rebinding, a poisoned resolver): the address itself is checked before connecting. Only the
  // local sandbox's exact names (http_url.h) may reach loopback.
  if (!ResolvedAddressRefusal(host_, address.host().toString()).empty()) {
    state_->internal_address = address.host().toString();
    throw Poco::Net::NetException("refused");
  }
  Poco::Net::StreamSocket tcp;
  tcp.connect(address, connect_timeout_);
  tcp.setNoDelay(true);
  tcp.setReceiveTimeout(receive_timeout_);  // bounds a stalled handshake too
  tcp.setSendTimeout(send_timeout_);
  if (state_->cancel) state_->cancel->Attach(tcp.impl()->sockfd());
  state_->phase = Phase::kHandshake;
  state_->verify_error.clear();
  t_handshake = state_;
  struct Clear {
    ~Clear() { t_handshake = nullptr; }
  } clear;
  // attach() runs the handshake and then checks the certificate against host_ (VERIFY_STRICT:
  // no exemption for names that resolve to loopback).
  Poco::Net::SecureStreamSocket tls = Poco::Net::SecureStreamSocket::attach(tcp, host_, ctx_);
  attachSocket(tls);
  state_->phase = Phase::kExchange;
}

Status MapFailure(const Poco::Exception& e, const ConnState& st, const HttpUrl& url) {
  const std::string where = url.Authority();
  if (st.cancel && st.cancel->cancelled()) return Status::Error(Status::Code::kCancelled, "stream from " + where + " cancelled");
  if (st.refused_address)
    return Status::Security("refusing plain http:// to " + url.host + ": it does not resolve to a loopback address");
  if (!st.internal_address.empty())
    return Status::Security("refusing " + url.host + ": it resolves to the internal address " + st.internal_address);
  if (!st.verify_error.empty()) return Status::Security("TLS: cannot verify " + where + ": " + st.verify_error);
  if (st.phase == Phase::kHandshake) {
    if (dynamic_cast<const Poco::Net::CertificateValidationException*>(&e) ||
        dynamic_cast<const Poco::Net::InvalidCertificateException*>(&e))
      return Status::Security("TLS: the certificate of " + where + " is not valid for host name " + url.host);
    if (dynamic_cast<const Poco::Net::SSLException*>(&e) &&
        !dynamic_cast<const Poco::Net::SSLConnectionUnexpectedlyClosedException*>(&e))
      return Status::Security("TLS: handshake with " + where + " failed: " + e.message());
  }
  auto unavailable = [](std::string m) { return Status::Error(Status::Code::kUnavailable, std::move(m)); };
  if (dynamic_cast<const Poco::TimeoutException*>(&e))
    return unavailable(std::string(st.phase == Phase::kExchange ? "timed out waiting for " : "timed out connecting to ") + where);
  if (dynamic_cast<const Poco::Net::DNSException*>(&e)) return unavailable("cannot resolve host " + url.host);
  if (dynamic_cast<const Poco::Net::ConnectionRefusedException*>(&e)) return unavailable("connection refused by " + where);
  if (dynamic_cast<const Poco::Net::NoMessageException*>(&e)) return unavailable("no answer from " + where + " (connection closed)");
  return unavailable(std::string(st.phase == Phase::kExchange ? "connection to " : "cannot connect to ") + where +
                     " failed: " + e.displayText());
}

}  // namespace poco_net

}  // namespace sflow
