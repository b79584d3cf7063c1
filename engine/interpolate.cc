#include "engine/interpolate.h"

#include <utility>

#include "engine/params.h"
#include "engine/spell.h"

namespace sflow {

namespace {

struct Ref {
  std::string ns;    // "params" | "inputs" | other (an error)
  std::string name;
};

bool ParseRef(const std::string& inner, Ref* ref) {
  size_t dot = inner.find('.');
  if (dot == std::string::npos) return false;
  ref->ns = inner.substr(0, dot);
  ref->name = inner.substr(dot + 1);
  return !ref->name.empty();
}

std::string ScalarText(const Value& v) {
  return v.is_string() ? v.as_string() : v.ToJson();
}

class Interpolator {
 public:
  Interpolator(const InterpolationScope& scope, DiagnosticList* diags) : scope_(scope), diags_(diags) {}

  // Whether a reference to a param without a value (not one already refused) was met since the
  // last call.
  bool TakeMissingParam() { return std::exchange(missing_param_, false); }
  // The name of a secret param whose value was used since the last call, or "".
  std::string TakeSecretParam() { return std::exchange(secret_param_, std::string()); }

  // Returns the interpolated value; sets *unresolved when a reference remains.
  Value Walk(const Value& v, bool* unresolved) {
    if (v.is_string()) return String(v, unresolved);
    if (v.is_array()) {
      Value out = Value::Array(v.loc());
      for (const Value& item : v.items()) out.Append(Walk(item, unresolved));
      return out;
    }
    if (v.is_object()) {
      Value out = Value::Object(v.loc());
      for (const Value::Member& m : v.members())
        out.members().push_back(Value::Member{m.key, m.key_loc, Walk(m.value, unresolved)});
      return out;
    }
    return v;
  }

 private:
  // Resolves one reference: sets *value and returns true, or returns false when it stays
  // unresolved (reported as an error when it is wrong, silently when it is only unknown yet).
  bool Resolve(const Ref& ref, const std::string& written, SourceLoc loc, Value* value, bool* unresolved) {
    const Plan& plan = *scope_.plan;
    if (ref.ns == "params") {
      if (!plan.FindParam(ref.name)) {
        std::vector<std::string> names;
        for (const ParamSpec& p : plan.params) names.push_back(p.name);
        diags_->Error(loc, "reference", "unknown param '" + ref.name + "' in " + written,
                      names.empty() ? "declare it under 'params:'" : DidYouMean(ref.name, names));
        return false;
      }
      auto it = scope_.params->find(ref.name);
      if (it == scope_.params->end()) {
        *unresolved = true;
        if (!scope_.refused || !scope_.refused->count(ref.name)) missing_param_ = true;
        return false;
      }
      *value = it->second;
      if (NameSaysSecret(ref.name)) secret_param_ = ref.name;
      return true;
    }
    if (ref.ns == "inputs") {
      bool known = false;
      std::vector<std::string> names;
      for (const TemplateInput& in : plan.inputs) {
        names.push_back(in.name);
        known = known || in.name == ref.name;
      }
      if (plan.kind != PlanKind::kTemplate) {
        diags_->Error(loc, "reference", written + " refers to a template input, but this plan is not a template",
                      "use ${params." + ref.name + "}");
      } else if (!known) {
        diags_->Error(loc, "reference", "unknown input '" + ref.name + "' in " + written, DidYouMean(ref.name, names));
      }
      *unresolved = true;
      *value = Value::String("$inputs." + ref.name, loc);  // the server's template placeholder
      return true;
    }
    diags_->Error(loc, "reference", "unknown reference " + written,
                  "references are ${params.NAME}, or ${inputs.NAME} in templates");
    return false;
  }

  Value String(const Value& v, bool* unresolved) {
    const std::string& s = v.as_string();
    if (s.find('$') == std::string::npos) return v;
    // A string that is exactly one reference takes the referenced value with its type.
    if (s.size() > 3 && s.rfind("${", 0) == 0 && s.back() == '}' && s.find('}') == s.size() - 1) {
      Ref ref;
      if (ParseRef(s.substr(2, s.size() - 3), &ref)) {
        Value out;
        if (Resolve(ref, s, v.loc(), &out, unresolved)) {
          out.set_loc(v.loc());
          return out;
        }
        return v;
      }
    }
    std::string out;
    bool any_unresolved = false;
    for (size_t i = 0; i < s.size();) {
      if (s.compare(i, 3, "$${") == 0) {
        out += "${";
        i += 3;
        continue;
      }
      if (s.compare(i, 2, "${") != 0) {
        out += s[i++];
        continue;
      }
      size_t close = s.find('}', i + 2);
      if (close == std::string::npos) {
        diags_->Error(v.loc(), "reference", "unterminated '${' in string", "close it with '}', or write '$${' for a literal");
        return v;
      }
      std::string written = s.substr(i, close - i + 1);
      Ref ref;
      Value value;
      bool unres = false;
      if (!ParseRef(s.substr(i + 2, close - i - 2), &ref)) {
        diags_->Error(v.loc(), "reference", "malformed reference " + written, "write ${params.NAME}");
        out += written;
      } else if (Resolve(ref, written, v.loc(), &value, &unres)) {
        out += ScalarText(value);
      } else {
        out += written;
      }
      any_unresolved = any_unresolved || unres;
      i = close + 1;
    }
    if (any_unresolved) *unresolved = true;
    return Value::String(out, v.loc());
  }

  const InterpolationScope& scope_;
  DiagnosticList* diags_;
  bool missing_param_ = false;  // a reference to a param without a value was met
  std::string secret_param_;    // a secret param whose value was used
};

}  // namespace

bool HasReference(const std::string& text) {
  for (size_t i = text.find("${"); i != std::string::npos; i = text.find("${", i + 2))
    if (i == 0 || text[i - 1] != '$') return true;
  return false;
}

Interpolated Interpolate(const Value& v, const InterpolationScope& scope, DiagnosticList* diags) {
  Interpolator in(scope, diags);
  Interpolated result;
  if (v.is_object()) {
    result.value = Value::Object(v.loc());
    for (const Value::Member& m : v.members()) {
      bool unresolved = false;
      result.value.members().push_back(Value::Member{m.key, m.key_loc, in.Walk(m.value, &unresolved)});
      if (unresolved) result.unresolved.insert(m.key);
      if (in.TakeMissingParam()) result.missing_params.insert(m.key);
      if (std::string secret = in.TakeSecretParam(); !secret.empty()) result.secret[m.key] = secret;
    }
    return result;
  }
  bool unresolved = false;
  result.value = in.Walk(v, &unresolved);
  if (unresolved) result.unresolved.insert("");
  if (in.TakeMissingParam()) result.missing_params.insert("");
  if (std::string secret = in.TakeSecretParam(); !secret.empty()) result.secret[""] = secret;
  return result;
}

}  // namespace sflow
