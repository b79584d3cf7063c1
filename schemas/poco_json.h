// Conversions between Value and Poco::JSON, for the adapters that talk to Poco (valijson's Poco
// adapter here; the API client later). Poco types stay inside schemas/ and api/.
#ifndef SFLOW_SCHEMAS_POCO_JSON_H_
#define SFLOW_SCHEMAS_POCO_JSON_H_

#include <Poco/Dynamic/Var.h>

#include "engine/value.h"

namespace sflow {

// A Value as Poco::JSON objects and arrays (integers as Int64, doubles as double).
Poco::Dynamic::Var ToPocoVar(const Value& v);

}  // namespace sflow

#endif  // SFLOW_SCHEMAS_POCO_JSON_H_
