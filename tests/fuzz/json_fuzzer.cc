// Fuzz target: the JSON reader and writer (engine/json.h, Value::ToJson).
//   * Whatever parses, serialises to valid UTF-8 JSON that parses again to an equivalent value
//     (numbers compared as numbers: 5.0 prints as 5 and comes back an integer), and one round
//     later the text is a fixed point; with sorted keys too.
//   * Whatever fails, fails with a message.
//   * The writer, given any bytes as a string (a path, a server's text), still writes valid
//     UTF-8 JSON that parses back.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/json.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using sflow::Value;
using sflow::fuzz::Check;

bool Equivalent(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.as_number() == b.as_number();
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kNull: return true;
    case Value::Kind::kBool: return a.as_bool() == b.as_bool();
    case Value::Kind::kString: return a.as_string() == b.as_string();
    case Value::Kind::kArray: {
      if (a.items().size() != b.items().size()) return false;
      for (size_t i = 0; i < a.items().size(); ++i)
        if (!Equivalent(a.items()[i], b.items()[i])) return false;
      return true;
    }
    case Value::Kind::kObject: {
      if (a.members().size() != b.members().size()) return false;
      for (size_t i = 0; i < a.members().size(); ++i)
        if (a.members()[i].key != b.members()[i].key || !Equivalent(a.members()[i].value, b.members()[i].value))
          return false;
      return true;
    }
    default: return false;
  }
}

void RoundTrip(const Value& v, bool sorted) {
  const std::string text = v.ToJson(sorted);
  Check(sflow::fuzz::ValidUtf8(text), "the writer produced invalid UTF-8");
  sflow::Result<Value> again = sflow::ParseJson(text);
  Check(again.ok(), "the writer's text does not parse");
  if (!sorted) Check(Equivalent(v, *again), "parse(write(v)) differs from v");
  const std::string text2 = again->ToJson(sorted);
  sflow::Result<Value> third = sflow::ParseJson(text2);
  Check(third.ok() && third->ToJson(sorted) == text2, "write(parse(text)) is not a fixed point");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sflow::Result<Value> v = sflow::ParseJson(text);
  if (v.ok()) {
    RoundTrip(*v, false);
    RoundTrip(*v, true);
  } else {
    Check(!v.status().message().empty(), "a parse error without a message");
  }
  // Skimming accepts exactly what parsing accepts (objects), with the same message, and finds
  // each outermost member's value as parsing keeps it.
  std::vector<std::string_view> keys, values;
  if (v.ok() && v->is_object())
    for (const Value::Member& m : v->members()) keys.push_back(m.key);
  values.resize(keys.size());
  sflow::Status skim = sflow::SkimJsonObject(text, keys, values);
  if (v.ok() && v->is_object()) {
    Check(skim.ok(), "SkimJsonObject refuses an object ParseJson accepts");
    for (size_t i = 0; i < keys.size(); ++i) {
      sflow::Result<Value> member = sflow::ParseJson(values[i]);
      Check(member.ok() && member->ToJson() == v->Find(keys[i])->ToJson(), "a skimmed member differs from the parsed one");
      std::optional<int64_t> as_int = sflow::JsonIntToken(values[i]);
      Check(member->is_int() ? as_int == member->as_int() : !as_int, "JsonIntToken differs from ParseJson");
      std::optional<std::string> as_string = sflow::JsonStringToken(values[i]);
      Check(member->is_string() ? as_string == member->as_string() : !as_string, "JsonStringToken differs from ParseJson");
    }
  } else if (!v.ok() && !text.empty() && text.find_first_not_of(" \t\r\n") != std::string_view::npos &&
             text[text.find_first_not_of(" \t\r\n")] == '{') {
    Check(!skim.ok() && skim.message() == v.status().message(), "SkimJsonObject and ParseJson disagree on a bad object");
  } else {
    Check(!skim.ok(), "SkimJsonObject accepts what is not an object");
  }
  Value raw = Value::Object();
  raw.Set(std::string(text.substr(0, 64)), Value::String(std::string(text)));
  const std::string written = raw.ToJson();
  Check(sflow::fuzz::ValidUtf8(written), "the writer passed invalid UTF-8 through");
  Check(sflow::ParseJson(written).ok(), "the writer's text for arbitrary bytes does not parse");
  return 0;
}
