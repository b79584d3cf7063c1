#include "engine/params.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "engine/pattern.h"
#include "engine/spell.h"

namespace sflow {

namespace {

constexpr std::string_view kEnvPrefix = "SOGNI_FLOW_PARAM_";

std::string FormatNumber(double d) {
  std::string s = Value::Double(d).ToJson();
  return s;
}

// A value as messages show it: quoted, and cut after 40 bytes (at a character boundary) so that a
// 60,000-character value does not flood the terminal.
std::string Shown(std::string_view text) {
  constexpr size_t kMax = 40;
  if (text.size() <= kMax) return "'" + std::string(text) + "'";
  size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not mid-character
  return "'" + std::string(text.substr(0, cut)) + "...' (" + std::to_string(text.size()) + " bytes)";
}

constexpr const char* kHidden = "(value not shown: the name says it is secret)";

// A param's value as messages show it: never the value of a param whose name says it is secret.
std::string ShownValue(const ParamSpec& spec, std::string_view text) {
  return NameSaysSecret(spec.name) ? kHidden : Shown(text);
}
std::string ShownValue(const ParamSpec& spec, const Value& value, bool brief) {
  return NameSaysSecret(spec.name) ? kHidden : brief ? value.Brief() : value.ToJson();
}

std::string TooLong(size_t bytes) {
  return "is " + std::to_string(bytes) + " bytes long, over the " + std::to_string(kMaxParamValueBytes) +
         "-byte limit for a param value";
}

std::vector<std::string> ParamNames(const Plan& plan) {
  std::vector<std::string> names;
  for (const ParamSpec& p : plan.params) names.push_back(p.name);
  return names;
}

}  // namespace

bool NameSaysSecret(std::string_view name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  for (const char* word : {"key", "token", "secret", "password", "passwd"})
    if (lower.find(word) != std::string::npos) return true;
  return false;
}

std::vector<std::pair<std::string, std::string>> ParamsFromEnvironment(char** env) {
  std::vector<std::pair<std::string, std::string>> out;
  for (char** e = env; e && *e; ++e) {
    std::string_view entry(*e);
    if (entry.substr(0, kEnvPrefix.size()) != kEnvPrefix) continue;
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace_back(std::string(entry.substr(kEnvPrefix.size(), eq - kEnvPrefix.size())),
                     std::string(entry.substr(eq + 1)));
  }
  return out;
}

Value ParseParamText(const ParamSpec& spec, const std::string& text, std::string* error) {
  if (text.size() > kMaxParamValueBytes) {
    *error = TooLong(text.size());
    return Value();
  }
  if (!IsValidUtf8(text)) {  // -p and the environment carry bytes; plans and the wire are UTF-8
    *error = "is not valid UTF-8";
    return Value();
  }
  switch (spec.type) {
    case ParamSpec::Type::kString:
      return Value::String(text);
    case ParamSpec::Type::kInteger: {
      errno = 0;
      char* end = nullptr;
      long long v = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || errno == ERANGE) {
        *error = ShownValue(spec, text) + " is not an integer";
        return Value();
      }
      return Value::Int(v);
    }
    case ParamSpec::Type::kNumber: {
      errno = 0;
      char* end = nullptr;
      double v = std::strtod(text.c_str(), &end);
      // strtod also reads hex, "inf" and "nan"; a param takes plain decimal numbers only.
      bool plain = text.find_first_not_of("0123456789+-.eE") == std::string::npos;
      if (text.empty() || !plain || *end != '\0' || errno == ERANGE || !std::isfinite(v)) {
        *error = ShownValue(spec, text) + " is not a number";
        return Value();
      }
      return Value::Double(v);
    }
    case ParamSpec::Type::kBoolean:
      if (text == "true" || text == "yes" || text == "1") return Value::Bool(true);
      if (text == "false" || text == "no" || text == "0") return Value::Bool(false);
      *error = ShownValue(spec, text) + " is not a boolean (use true or false)";
      return Value();
    case ParamSpec::Type::kEnum:
      // Enum values may be numbers in the plan; match the text against each value's rendering.
      for (const Value& v : spec.values) {
        if ((v.is_string() && v.as_string() == text) || (!v.is_string() && v.ToJson() == text))
          return v;
      }
      *error = ShownValue(spec, text) + " is not one of the allowed values";
      return Value();
  }
  return Value();
}

std::string CheckParamValue(const ParamSpec& spec, const Value& value) {
  if (value.is_string() && value.as_string().size() > kMaxParamValueBytes) return TooLong(value.as_string().size());
  switch (spec.type) {
    case ParamSpec::Type::kString:
      if (!value.is_string()) return std::string("must be a string, not ") + Value::KindPhrase(value.kind());
      if (spec.pattern) {
        Result<Pattern> pattern = Pattern::Compile(*spec.pattern);
        if (!pattern.ok()) return "";  // the bad pattern itself is reported once, at the pattern
        if (!pattern->FullMatch(value.as_string()))
          return ShownValue(spec, value.as_string()) + " does not match pattern " + Shown(*spec.pattern);
      }
      return "";
    case ParamSpec::Type::kInteger:
    case ParamSpec::Type::kNumber: {
      bool integer = spec.type == ParamSpec::Type::kInteger;
      if (integer ? !value.is_int() : !value.is_number())
        return std::string("must be ") + (integer ? "an integer" : "a number") + ", not " +
               Value::KindPhrase(value.kind());
      double d = value.as_number();
      if (spec.minimum && d < *spec.minimum)
        return ShownValue(spec, value, false) + " is below the minimum " + FormatNumber(*spec.minimum);
      if (spec.maximum && d > *spec.maximum)
        return ShownValue(spec, value, false) + " is above the maximum " + FormatNumber(*spec.maximum);
      return "";
    }
    case ParamSpec::Type::kBoolean:
      return value.is_bool() ? "" : std::string("must be true or false, not ") + Value::KindPhrase(value.kind());
    case ParamSpec::Type::kEnum: {
      for (const Value& v : spec.values)
        if (v == value) return "";
      std::string allowed;
      for (size_t i = 0; i < spec.values.size(); ++i) allowed += (i ? ", " : "") + spec.values[i].ToJson();
      return ShownValue(spec, value, true) + " is not one of " + allowed;
    }
  }
  return "";
}

ParamValues ResolveParams(const Plan& plan, const ParamSources& sources, DiagnosticList* diags,
                          std::set<std::string>* refused) {
  ParamValues values;
  std::set<std::string> unused_refused;
  if (!refused) refused = &unused_refused;
  // The specs.
  for (const ParamSpec& p : plan.params) {
    if (p.pattern) {
      if (Result<Pattern> re = Pattern::Compile(*p.pattern); !re.ok())
        diags->Error(p.pattern_loc, "param", "param '" + p.name + "' has an invalid pattern: " + re.status().message(),
                     "patterns are RE2 syntax, matched against the whole value: no backreferences or lookaround");
      if (p.type != ParamSpec::Type::kString)
        diags->Error(p.pattern_loc, "param", "'pattern' applies only to string params");
    }
    bool numeric = p.type == ParamSpec::Type::kInteger || p.type == ParamSpec::Type::kNumber;
    if ((p.minimum || p.maximum) && !numeric)
      diags->Error(p.minimum ? p.minimum_loc : p.maximum_loc, "param",
                   "'minimum' and 'maximum' apply only to integer and number params");
    if (p.minimum && p.maximum && *p.minimum > *p.maximum)
      diags->Error(p.maximum_loc, "param", "param '" + p.name + "' has maximum below its minimum");
    if (p.default_value) {
      std::string problem = CheckParamValue(p, *p.default_value);
      if (!problem.empty()) {
        diags->Error(p.default_loc, "param", "default of param '" + p.name + "' " + problem);
        refused->insert(p.name);
      } else
        values[p.name] = *p.default_value;
    }
  }

  const std::vector<std::string> names = ParamNames(plan);
  auto assign_text = [&](const std::string& name, const std::string& text, const std::string& origin) {
    const ParamSpec* spec = plan.FindParam(name);
    if (!spec) {
      diags->Error({}, "param", origin + ": the plan has no param '" + name + "'", DidYouMean(name, names));
      return;
    }
    std::string error;
    Value v = ParseParamText(*spec, text, &error);
    if (error.empty()) error = CheckParamValue(*spec, v);
    if (!error.empty()) {
      diags->Error({}, "param", origin + ": param '" + name + "' " + error);
      refused->insert(name);
      return;
    }
    values[name] = std::move(v);
    refused->erase(name);
  };

  for (const auto& [name, text] : sources.environment)
    if (plan.FindParam(name)) assign_text(name, text, std::string(kEnvPrefix) + name);  // others: not ours

  for (const ParamFile& file : sources.files) {
    DiagnosticList file_diags(file.path);
    for (const Value::Member& m : file.values.members()) {
      const ParamSpec* spec = plan.FindParam(m.key);
      if (!spec) {
        file_diags.Error(m.key_loc, "param", "the plan has no param '" + m.key + "'", DidYouMean(m.key, names));
        continue;
      }
      std::string problem = CheckParamValue(*spec, m.value);
      if (!problem.empty()) {
        file_diags.Error(m.value.loc(), "param", "param '" + m.key + "' " + problem);
        refused->insert(m.key);
        continue;
      }
      values[m.key] = m.value;
      refused->erase(m.key);
    }
    diags->Append(file_diags);
  }

  for (const std::string& a : sources.assignments) {
    size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      // "-p =VALUE": the value of a param without a name is not shown either.
      diags->Error({}, "usage", "-p " + (eq == std::string::npos ? a : std::string("=VALUE")) + ": expected name=value");
      continue;
    }
    assign_text(a.substr(0, eq), a.substr(eq + 1), "-p " + a.substr(0, eq));
  }
  return values;
}

}  // namespace sflow
