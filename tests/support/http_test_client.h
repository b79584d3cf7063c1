// A small HTTP client for tests that talk to the sandbox on 127.0.0.1 (Poco underneath).
#ifndef SFLOW_TESTS_SUPPORT_HTTP_TEST_CLIENT_H_
#define SFLOW_TESTS_SUPPORT_HTTP_TEST_CLIENT_H_

#include <map>
#include <string>

#include "engine/value.h"

namespace sflow {

struct HttpResult {
  int status = 0;
  std::string body;
  Value json;  // parsed body, or null when it is not JSON
  std::map<std::string, std::string> headers;
};

class HttpTestClient {
 public:
  explicit HttpTestClient(int port, std::string api_key = "") : port_(port), key_(std::move(api_key)) {}
  HttpResult Get(const std::string& path, const std::map<std::string, std::string>& headers = {}) const;
  HttpResult Post(const std::string& path, const std::string& body, const std::map<std::string, std::string>& headers = {}) const;
  HttpResult Send(const std::string& method, const std::string& path, const std::string& body,
                  const std::map<std::string, std::string>& headers) const;
  // Reads an event stream until the server closes it or `timeout_ms` passes; returns the raw text.
  std::string Stream(const std::string& path, const std::map<std::string, std::string>& headers = {},
                     int timeout_ms = 10000) const;
  // GETs a full URL on this server (media URLs come back absolute).
  HttpResult GetUrl(const std::string& url, const std::map<std::string, std::string>& headers = {}) const;

 private:
  int port_;
  std::string key_;
};

}  // namespace sflow

#endif  // SFLOW_TESTS_SUPPORT_HTTP_TEST_CLIENT_H_
