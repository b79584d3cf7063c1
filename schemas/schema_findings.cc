// Implementation details: valijson's findings are plain English sentences; they are read here by
// hand (never with std::regex: they quote names from the plan), with the schema and the value at
// hand for the details the text leaves out.
#include "schemas/schema_findings.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include <Poco/JSON/Array.h>

#include "engine/spell.h"

namespace sflow {

using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

// The subschema that governs `path` (object keys and array indices), following properties,
// items and local "#/$defs/..." references; nullptr when the schema does not say.
Object::Ptr SchemaAt(const Object::Ptr& root, const std::vector<std::string>& path) {
  Object::Ptr s = root;
  auto resolve = [&](Object::Ptr x) -> Object::Ptr {
    for (int hops = 0; x && x->has("$ref") && hops < 8; ++hops) {
      std::string ref = x->getValue<std::string>("$ref");
      const std::string prefix = "#/$defs/";
      if (ref.rfind(prefix, 0) != 0) return x;
      Object::Ptr defs = root->getObject("$defs");
      x = defs ? defs->getObject(ref.substr(prefix.size())) : nullptr;
    }
    return x;
  };
  s = resolve(s);
  for (const std::string& part : path) {
    if (!s) return nullptr;
    bool index = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    if (index && s->has("items")) {
      s = resolve(s->getObject("items"));
    } else if (Object::Ptr props = s->getObject("properties")) {
      s = resolve(props->getObject(part));
    } else {
      return nullptr;
    }
  }
  return s;
}

const Value* ValueAt(const Value& root, const std::vector<std::string>& path) {
  const Value* v = &root;
  for (const std::string& part : path) {
    if (v->is_object()) {
      v = v->Find(part);
    } else if (v->is_array()) {
      size_t i = std::strtoul(part.c_str(), nullptr, 10);
      v = i < v->items().size() ? &v->items()[i] : nullptr;
    } else {
      return nullptr;
    }
    if (!v) return nullptr;
  }
  return v;
}

// "16.000000" -> "16", "0.500000" -> "0.5".
std::string TrimNumber(std::string n) {
  if (n.find('.') == std::string::npos) return n;
  while (!n.empty() && n.back() == '0') n.pop_back();
  if (!n.empty() && n.back() == '.') n.pop_back();
  return n;
}

std::string JoinQuoted(const std::vector<std::string>& v, size_t max) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < max; ++i) out += (i ? ", " : "") + ("'" + v[i] + "'");
  if (v.size() > max) out += " and " + std::to_string(v.size() - max) + " more";
  return out;
}

// valijson's messages are parsed by hand, not with std::regex: they quote property names from
// the plan (a 100,000-character argument name is a valid YAML key), and std::regex's executor
// recurses once per character.

// Consumes `prefix` from the front of *s; false (and *s unchanged) when it is not there.
bool Eat(std::string_view* s, std::string_view prefix) {
  if (s->substr(0, prefix.size()) != prefix) return false;
  s->remove_prefix(prefix.size());
  return true;
}

// A number as valijson prints it (std::to_string: "16.000000"), up to the end of *s or a space.
bool EatNumber(std::string_view* s, std::string* number) {
  size_t n = 0;
  while (n < s->size() && std::string_view("+-.0123456789eE").find((*s)[n]) != std::string_view::npos) ++n;
  if (n == 0) return false;
  *number = std::string(s->substr(0, n));
  s->remove_prefix(n);
  return true;
}

// The name quoted at the end of a message: "...'NAME'." or "...'NAME'".
bool QuotedTail(std::string_view s, std::string* name) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  if (s.empty() || s.back() != '\'') return false;
  s.remove_suffix(1);
  *name = std::string(s);
  return true;
}

}  // namespace

Object::Ptr AsObject(const Poco::Dynamic::Var& v) {
  if (v.type() == typeid(Object::Ptr)) return v.extract<Object::Ptr>();
  return nullptr;
}

std::vector<std::string> SchemaTypes(const Object::Ptr& schema) {
  std::vector<std::string> out;
  if (!schema || !schema->has("type")) return out;
  Poco::Dynamic::Var t = schema->get("type");
  if (t.isString()) {
    out.push_back(t.toString());
  } else if (Array::Ptr a = schema->getArray("type")) {
    for (size_t i = 0; i < a->size(); ++i) out.push_back(a->getElement<std::string>(i));
  }
  return out;
}

std::string FindRegexKeyword(const Poco::Dynamic::Var& node, const std::string& where, bool names) {
  if (node.type() == typeid(Array::Ptr)) {
    Array::Ptr a = node.extract<Array::Ptr>();
    for (size_t i = 0; i < a->size(); ++i)
      if (std::string f = FindRegexKeyword(a->get(i), where + "/" + std::to_string(i), false); !f.empty()) return f;
    return "";
  }
  Object::Ptr o = AsObject(node);
  if (!o) return "";
  for (const auto& [key, value] : *o) {
    // Under "properties" and "$defs" the keys are names, not keywords; data keywords hold data.
    if (!names) {
      if (key == "pattern" || key == "patternProperties") return where + "/" + key;
      if (key == "format" && value.isString()) {
        std::string f = value.toString();
        if (f == "date" || f == "time" || f == "date-time") return where + "/format";
      }
      if (key == "enum" || key == "const" || key == "default" || key == "examples") continue;
    }
    bool child_names = !names && (key == "properties" || key == "$defs" || key == "definitions");
    if (std::string f = FindRegexKeyword(value, where + "/" + key, child_names); !f.empty()) return f;
  }
  return "";
}


// Turns one valijson finding into a readable ArgumentProblem, looking at the schema and the value
// for the details valijson's text leaves out.
ArgumentProblem Explain(const Object::Ptr& schema, const Value& args, std::vector<std::string> path,
                        const std::string& description) {
  ArgumentProblem p;
  p.path = path;
  const Value* value = ValueAt(args, path);
  bool show_value = false;  // whether the value says what is wrong; the caller shows it (p.got)
  std::string_view d = description;
  std::string word, number, name;
  if (Eat(&d, "Expected number ")) {
    bool less = Eat(&d, "less than ");
    if (!less) Eat(&d, "greater than ");
    bool inclusive = Eat(&d, "or equal to ");
    EatNumber(&d, &number);
    p.rule = less ? (inclusive ? "maximum" : "exclusiveMaximum") : (inclusive ? "minimum" : "exclusiveMinimum");
    p.message = std::string("must be ") +
                (less ? (inclusive ? "at most " : "less than ") : (inclusive ? "at least " : "greater than ")) +
                TrimNumber(number);
    show_value = true;
  } else if (Eat(&d, "Missing required property '") && QuotedTail(d, &name)) {
    p.rule = "required";
    p.path.push_back(name);
    p.message = "is required";
  } else if (Eat(&(d = description), "Object contains a property that could not be validated") &&
             d.find(": '") != std::string_view::npos &&
             QuotedTail(d.substr(d.find(": '") + 3), &name)) {
    p.rule = "additionalProperties";
    std::vector<std::string> known;
    if (Object::Ptr s = SchemaAt(schema, path))
      if (Object::Ptr props = s->getObject("properties"))
        for (const auto& kv : *props) known.push_back(kv.first);
    p.path.push_back(name);
    p.message = "unknown argument";
    p.hint = DidYouMean(name, known);
  } else if (description.rfind("Failed to match against any enum values", 0) == 0) {
    p.rule = "enum";
    std::vector<std::string> allowed;
    if (Object::Ptr s = SchemaAt(schema, path))
      if (Array::Ptr e = s->getArray("enum"))
        for (size_t i = 0; i < e->size(); ++i) allowed.push_back(e->get(i).toString());
    p.message = "must be one of " + JoinQuoted(allowed, 8);
    show_value = true;
    if (value && value->is_string()) p.hint = DidYouMean(value->as_string(), allowed);
  } else if (description.rfind("Value type not permitted", 0) == 0) {
    p.rule = "type";
    std::vector<std::string> types = SchemaTypes(SchemaAt(schema, path));
    std::string want;
    for (size_t i = 0; i < types.size(); ++i) want += (i ? " or " : "") + types[i];
    p.message = "must be " + (want.empty() ? std::string("of another type") : "a" + std::string(
        !want.empty() && std::string("aeiou").find(want[0]) != std::string::npos ? "n " : " ") + want);
    show_value = true;
  } else if ((Eat(&(d = description), "String should be no ") || Eat(&d, "Array should contain no ")) &&
             (Eat(&d, "more than ") ? (word = "more", true) : Eat(&d, "fewer than ") ? (word = "fewer", true) : false) &&
             EatNumber(&d, &number)) {
    bool string = description[0] == 'S';
    bool more = word == "more";
    p.rule = string ? (more ? "maxLength" : "minLength") : (more ? "maxItems" : "minItems");
    std::string n = TrimNumber(number);
    p.message = std::string(string ? "must be " : "must have ") + (more ? "at most " : "at least ") + n +
                (string ? " character" : " item") + (n == "1" ? "" : "s");
  } else {
    p.rule = "schema";
    std::string text = description;
    if (!text.empty() && text.back() == '.') text.pop_back();
    p.message = "breaks the schema: " + text;
  }
  if (show_value && value) p.got = value->Brief();
  return p;
}

// valijson names only the first member that additionalProperties refuses; every member of the
// object at `path` that its schema's properties do not list is reported, each with its hint.
std::vector<ArgumentProblem> UnknownMembers(const Object::Ptr& schema, const Value& args,
                                            const std::vector<std::string>& path) {
  std::vector<ArgumentProblem> out;
  const Value* object = ValueAt(args, path);
  Object::Ptr s = SchemaAt(schema, path);
  Object::Ptr props = s ? s->getObject("properties") : nullptr;
  if (!object || !object->is_object()) return out;
  std::vector<std::string> known;
  if (props)
    for (const auto& kv : *props) known.push_back(kv.first);
  for (const Value::Member& m : object->members()) {
    if (std::find(known.begin(), known.end(), m.key) != known.end()) continue;
    ArgumentProblem p;
    p.path = path;
    p.path.push_back(m.key);
    p.rule = "additionalProperties";
    p.message = "unknown argument";
    p.hint = DidYouMean(m.key, known);
    out.push_back(std::move(p));
  }
  return out;
}

bool IsEnclosingReport(const std::string& d) {
  return d.rfind("Failed to validate against schema associated with property", 0) == 0 ||
         d.rfind("Failed to validate item #", 0) == 0 ||
         d.rfind("Failed to validate against child schema", 0) == 0;
}

std::vector<std::string> ContextToPath(const std::vector<std::string>& context) {
  std::vector<std::string> path;
  for (const std::string& c : context) {
    if (c == "<root>") continue;
    std::string part = c;
    if (part.size() >= 2 && part.front() == '[' && part.back() == ']') part = part.substr(1, part.size() - 2);
    if (part.size() >= 2 && part.front() == '"' && part.back() == '"') part = part.substr(1, part.size() - 2);
    path.push_back(part);
  }
  return path;
}

}  // namespace sflow
