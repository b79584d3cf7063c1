// Implementation details: the embedded package files are parsed with Poco::JSON once, at Load().
// Each tool's schema is compiled by valijson's draft-7 parser on first use (the protocol's
// schemas declare draft 2020-12 but use only keywords whose meaning is the same in draft 7;
// a test compiles every one of them). valijson reports a problem and then each enclosing
// "failed to validate property X" again; only the innermost report is kept.
#include "schemas/protocol_catalog.h"

#include <algorithm>
#include <map>
#include <regex>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <valijson/adapters/poco_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "engine/spell.h"
#include "schemas/embedded.h"
#include "schemas/poco_json.h"
#include "schemas/tool_traits.h"

namespace sflow {

using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

struct ToolEntry {
  ToolInfo info;
  Object::Ptr schema;
  std::string schema_file;  // for messages
  mutable std::unique_ptr<valijson::Schema> compiled;
};

Poco::Dynamic::Var ParseJson(const char* text) {
  Poco::JSON::Parser parser;
  return parser.parse(text);
}

Object::Ptr AsObject(const Poco::Dynamic::Var& v) {
  if (v.type() == typeid(Object::Ptr)) return v.extract<Object::Ptr>();
  return nullptr;
}

std::vector<std::string> Types(const Object::Ptr& schema) {
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

ToolInfo DescribeTool(const std::string& name, const Object::Ptr& schema, bool workflow_step) {
  ToolInfo info;
  info.name = name;
  info.workflow_step = workflow_step;
  std::vector<std::string> required;
  if (Array::Ptr req = schema->getArray("required"))
    for (size_t i = 0; i < req->size(); ++i) required.push_back(req->getElement<std::string>(i));
  if (Object::Ptr props = schema->getObject("properties")) {
    for (const auto& [arg, spec] : *props) {
      ArgumentInfo a;
      a.name = arg;
      Object::Ptr s = AsObject(spec);
      a.types = Types(s);
      if (s && s->has("items")) {
        std::vector<std::string> it = Types(s->getObject("items"));
        if (!it.empty()) a.item_type = it[0];
      }
      a.required = std::find(required.begin(), required.end(), arg) != required.end();
      info.arguments.push_back(std::move(a));
    }
  }
  info.counts_variations = info.FindArgument("numberOfVariations") != nullptr;
  if (const ToolTraits* t = FindToolTraits(name)) {
    info.outputs = t->outputs;
    info.cost_class = std::string(t->cost_class);
    info.default_seconds = t->default_seconds;
  }
  return info;
}

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

// Turns one valijson finding into a readable ArgumentProblem, looking at the schema and the value
// for the details valijson's text leaves out.
ArgumentProblem Explain(const Object::Ptr& schema, const Value& args, std::vector<std::string> path,
                        const std::string& description) {
  static const std::regex kNumber(R"(Expected number (less|greater) than( or equal to)? ([-+0-9.eE]+))");
  static const std::regex kMissing(R"(Missing required property '(.*)'\.?)");
  static const std::regex kExtra(R"(Object contains a property that could not be validated .*: '(.*)'\.?)");
  static const std::regex kStrLen(R"(String should be no (more|fewer) than ([0-9]+) characters?\.?)");
  static const std::regex kArrLen(R"(Array should contain no (more|fewer) than ([0-9]+) elements?\.?)");
  std::smatch m;
  ArgumentProblem p;
  p.path = path;
  const Value* value = ValueAt(args, path);
  std::string got = value ? " (got " + value->Brief() + ")" : "";
  if (std::regex_match(description, m, kNumber)) {
    bool less = m[1] == "less";
    bool inclusive = m[2].matched;
    p.rule = less ? (inclusive ? "maximum" : "exclusiveMaximum") : (inclusive ? "minimum" : "exclusiveMinimum");
    p.message = std::string("must be ") +
                (less ? (inclusive ? "at most " : "less than ") : (inclusive ? "at least " : "greater than ")) +
                TrimNumber(m[3]) + got;
  } else if (std::regex_match(description, m, kMissing)) {
    p.rule = "required";
    p.path.push_back(m[1]);
    p.message = "is required";
  } else if (std::regex_match(description, m, kExtra)) {
    p.rule = "additionalProperties";
    std::vector<std::string> known;
    if (Object::Ptr s = SchemaAt(schema, path))
      if (Object::Ptr props = s->getObject("properties"))
        for (const auto& kv : *props) known.push_back(kv.first);
    p.path.push_back(m[1]);
    p.message = "unknown argument";
    p.hint = DidYouMean(m[1].str(), known);
  } else if (description.rfind("Failed to match against any enum values", 0) == 0) {
    p.rule = "enum";
    std::vector<std::string> allowed;
    if (Object::Ptr s = SchemaAt(schema, path))
      if (Array::Ptr e = s->getArray("enum"))
        for (size_t i = 0; i < e->size(); ++i) allowed.push_back(e->get(i).toString());
    p.message = "must be one of " + JoinQuoted(allowed, 8) + got;
    if (value && value->is_string()) p.hint = DidYouMean(value->as_string(), allowed);
  } else if (description.rfind("Value type not permitted", 0) == 0) {
    p.rule = "type";
    std::vector<std::string> types = Types(SchemaAt(schema, path));
    std::string want;
    for (size_t i = 0; i < types.size(); ++i) want += (i ? " or " : "") + types[i];
    p.message = "must be " + (want.empty() ? std::string("of another type") : "a" + std::string(
        !want.empty() && std::string("aeiou").find(want[0]) != std::string::npos ? "n " : " ") + want) + got;
  } else if (std::regex_match(description, m, kStrLen)) {
    p.rule = m[1] == "more" ? "maxLength" : "minLength";
    p.message = std::string("must be ") + (m[1] == "more" ? "at most " : "at least ") + m[2].str() + " characters";
  } else if (std::regex_match(description, m, kArrLen)) {
    p.rule = m[1] == "more" ? "maxItems" : "minItems";
    p.message = std::string("must have ") + (m[1] == "more" ? "at most " : "at least ") + m[2].str() + " items";
  } else {
    p.rule = "schema";
    std::string d = description;
    if (!d.empty() && d.back() == '.') d.pop_back();
    p.message = "breaks the schema: " + d;
  }
  return p;
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

}  // namespace

struct ProtocolCatalog::Impl {
  std::vector<ToolEntry> tools;
  std::string source;
};

ProtocolCatalog::ProtocolCatalog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProtocolCatalog::~ProtocolCatalog() = default;

const char* ProtocolCatalog::PackageFile(std::string_view path) {
  for (size_t i = 0; i < kEmbeddedFileCount; ++i)
    if (path == kEmbeddedFiles[i].path) return kEmbeddedFiles[i].text;
  return nullptr;
}

Result<std::unique_ptr<ProtocolCatalog>> ProtocolCatalog::Load() {
  auto impl = std::make_unique<Impl>();
  try {
    Object::Ptr pkg = AsObject(ParseJson(PackageFile("package.json")));
    Object::Ptr ver = AsObject(ParseJson(PackageFile("version.json")));
    impl->source = pkg->getValue<std::string>("name") + " " + pkg->getValue<std::string>("version") +
                   " (protocol " + ver->getValue<std::string>("protocolVersion") + ")";

    // The run schema's toolName enum is the list of tools a workflow step may name.
    Object::Ptr run = AsObject(ParseJson(PackageFile("schemas/workflows/durable-workflow-run.schema.json")));
    Array::Ptr step_tools = run->getObject("properties")->getObject("steps")->getObject("items")
                                ->getObject("properties")->getObject("toolName")->getArray("enum");
    std::vector<std::string> step_names;
    for (size_t i = 0; i < step_tools->size(); ++i) step_names.push_back(step_tools->getElement<std::string>(i));
    auto is_step = [&](const std::string& n) {
      return std::find(step_names.begin(), step_names.end(), n) != step_names.end();
    };

    // Hosted tools have a schema file each; app tools carry theirs in the app manifest. Tools
    // that run inside the chat app only (enums/tool-names.json "chatLocal") are not ours.
    Object::Ptr names = AsObject(ParseJson(PackageFile("enums/tool-names.json")));
    for (const char* group : {"hosted", "app"}) {
      Array::Ptr list = names->getArray(group);
      for (size_t i = 0; i < list->size(); ++i) {
        std::string name = list->getElement<std::string>(i);
        std::string file = "schemas/tools/" + name + ".schema.json";
        Object::Ptr schema;
        if (const char* text = PackageFile(file)) schema = AsObject(ParseJson(text));
        if (!schema) continue;  // app tools: below
        impl->tools.push_back(ToolEntry{DescribeTool(name, schema, is_step(name)), schema, file, nullptr});
      }
    }
    Object::Ptr app = AsObject(ParseJson(PackageFile("manifests/app-tools.json")));
    Array::Ptr app_tools = app->getArray("tools");
    for (size_t i = 0; i < app_tools->size(); ++i) {
      Object::Ptr fn = app_tools->getObject(i)->getObject("function");
      std::string name = fn->getValue<std::string>("name");
      Object::Ptr schema = fn->getObject("parameters");
      if (!schema) continue;
      impl->tools.push_back(ToolEntry{DescribeTool(name, schema, is_step(name)), schema,
                                      "manifests/app-tools.json (" + name + ")", nullptr});
    }
  } catch (const Poco::Exception& e) {
    return Status::Internal("embedded protocol package is damaged: " + e.displayText());
  } catch (const std::exception& e) {
    return Status::Internal(std::string("embedded protocol package is damaged: ") + e.what());
  }
  return std::unique_ptr<ProtocolCatalog>(new ProtocolCatalog(std::move(impl)));
}

const ToolInfo* ProtocolCatalog::Find(std::string_view name) const {
  for (const ToolEntry& t : impl_->tools)
    if (t.info.name == name) return &t.info;
  return nullptr;
}

std::vector<std::string> ProtocolCatalog::Names() const {
  std::vector<std::string> out;
  for (const ToolEntry& t : impl_->tools) out.push_back(t.info.name);
  return out;
}

std::string ProtocolCatalog::Source() const { return impl_->source; }

std::vector<ArgumentProblem> ProtocolCatalog::CheckArguments(const ToolInfo& tool,
                                                             const Value& arguments) const {
  const ToolEntry* entry = nullptr;
  for (const ToolEntry& t : impl_->tools)
    if (&t.info == &tool) entry = &t;
  if (!entry) return {ArgumentProblem{{}, "tool is not in the catalog", "", "catalog"}};
  std::vector<ArgumentProblem> problems;
  try {
    if (!entry->compiled) {
      auto compiled = std::make_unique<valijson::Schema>();
      valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
      Poco::Dynamic::Var schema_var = entry->schema;
      valijson::adapters::PocoJsonAdapter schema_adapter(schema_var);
      parser.populateSchema(schema_adapter, *compiled);
      entry->compiled = std::move(compiled);
    }
    Poco::Dynamic::Var doc = ToPocoVar(arguments);
    valijson::adapters::PocoJsonAdapter adapter(doc);
    valijson::Validator validator;
    valijson::ValidationResults results;
    if (validator.validate(*entry->compiled, adapter, &results)) return problems;
    valijson::ValidationResults::Error error;
    while (results.popError(error)) {
      if (IsEnclosingReport(error.description)) continue;
      ArgumentProblem p = Explain(entry->schema, arguments, ContextToPath(error.context), error.description);
      if (p.hint.empty()) p.hint = "rule '" + p.rule + "' of " + entry->schema_file + " in " + impl_->source;
      problems.push_back(std::move(p));
    }
  } catch (const std::exception& e) {
    problems.push_back(ArgumentProblem{{}, std::string("schema check failed: ") + e.what(), "", "schema"});
  }
  return problems;
}

}  // namespace sflow
