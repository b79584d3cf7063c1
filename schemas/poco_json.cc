#include "schemas/poco_json.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

namespace sflow {

Poco::Dynamic::Var ToPocoVar(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull: return Poco::Dynamic::Var();
    case Value::Kind::kBool: return v.as_bool();
    case Value::Kind::kInt: return static_cast<Poco::Int64>(v.as_int());
    case Value::Kind::kDouble: return v.as_number();
    case Value::Kind::kString: return v.as_string();
    case Value::Kind::kArray: {
      Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
      for (const Value& item : v.items()) a->add(ToPocoVar(item));
      return a;
    }
    case Value::Kind::kObject: {
      Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
      for (const Value::Member& m : v.members()) o->set(m.key, ToPocoVar(m.value));
      return o;
    }
  }
  return Poco::Dynamic::Var();
}

}  // namespace sflow
