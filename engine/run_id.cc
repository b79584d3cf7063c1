#include "engine/run_id.h"

#include <cstdio>

namespace sflow {

std::string MakeRunId(std::time_t now, uint64_t random) {
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "r-%04d%02d%02d-%02d%02d%02d-%04x", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned>(random & 0xffff));
  return buf;
}

std::string PlanDigestInput(const Value& start_body, const ParamValues& params) {
  Value p = Value::Object();
  for (const auto& [name, value] : params) p.Set(name, value);  // std::map: already sorted
  Value all = Value::Object();
  all.Set("body", start_body);
  all.Set("params", std::move(p));
  return all.ToJson(/*sort_keys=*/true);
}

}  // namespace sflow
