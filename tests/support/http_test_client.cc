#include "tests/support/http_test_client.h"

#include <chrono>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include "engine/json.h"

namespace sflow {

HttpResult HttpTestClient::Send(const std::string& method, const std::string& path, const std::string& body,
                                const std::map<std::string, std::string>& headers) const {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port_));
  session.setTimeout(Poco::Timespan(20, 0));
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!key_.empty()) req.set("api-key", key_);
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    if (!req.has("Content-Type")) req.setContentType("application/json");
    req.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  std::ostream& out = session.sendRequest(req);
  out << body;
  Poco::Net::HTTPResponse resp;
  HttpResult r;
  try {
    std::istream& in = session.receiveResponse(resp);
    Poco::StreamCopier::copyToString(in, r.body);
  } catch (const Poco::Exception&) {
    // A short body (a fault) ends in an exception; what arrived is kept.
  }
  r.status = resp.getStatus();
  for (const auto& [k, v] : resp) r.headers[k] = v;
  Result<Value> j = ParseJson(r.body);
  if (j.ok()) r.json = std::move(j).value();
  return r;
}

HttpResult HttpTestClient::Get(const std::string& path, const std::map<std::string, std::string>& headers) const {
  return Send("GET", path, "", headers);
}

HttpResult HttpTestClient::Post(const std::string& path, const std::string& body,
                                const std::map<std::string, std::string>& headers) const {
  return Send("POST", path, body, headers);
}

HttpResult HttpTestClient::GetUrl(const std::string& url, const std::map<std::string, std::string>& headers) const {
  Poco::URI uri(url);
  HttpTestClient anonymous(port_);
  return anonymous.Get(uri.getPathAndQuery(), headers);
}

std::string HttpTestClient::Stream(const std::string& path, const std::map<std::string, std::string>& headers,
                                   int timeout_ms) const {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port_));
  session.setTimeout(Poco::Timespan(0, 200 * 1000));
  Poco::Net::HTTPRequest req("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!key_.empty()) req.set("api-key", key_);
  req.set("Accept", "text/event-stream");
  for (const auto& [k, v] : headers) req.set(k, v);
  session.sendRequest(req);
  Poco::Net::HTTPResponse resp;
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::istream* in = nullptr;
  while (!in && std::chrono::steady_clock::now() < deadline) {
    try {
      in = &session.receiveResponse(resp);
    } catch (const Poco::TimeoutException&) {
    }
  }
  if (!in) return text;
  // One character at a time: a receive timeout then loses nothing already read.
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      int c = in->get();
      if (c == std::char_traits<char>::eof()) break;
      text.push_back(static_cast<char>(c));
    } catch (const Poco::TimeoutException&) {
      in->clear();
    } catch (const Poco::Exception&) {
      break;
    }
  }
  return text;
}

}  // namespace sflow
