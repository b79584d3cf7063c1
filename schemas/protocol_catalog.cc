// Implementation details: the embedded package files are parsed with Poco::JSON once, at Load().
// Each tool's schema is compiled by valijson's draft-7 parser on first use, once (the protocol's
// schemas declare draft 2020-12 but use only keywords whose meaning is the same in draft 7;
// a test compiles every one of them). valijson reports a problem and then each enclosing
// "failed to validate property X" again; only the innermost report is kept, and turned into a
// readable ArgumentProblem by schema_findings.h.
#include "schemas/protocol_catalog.h"

#include <algorithm>
#include <mutex>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <valijson/adapters/poco_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "schemas/embedded.h"
#include "schemas/poco_json.h"
#include "schemas/schema_findings.h"
#include "schemas/tool_traits.h"

namespace sflow {

using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

// A tool's schema compiled by valijson, once, by whichever thread checks the tool first
// (std::call_once: CheckArguments is const and may run on several threads at once).
struct CompiledSchema {
  std::once_flag once;
  std::unique_ptr<valijson::Schema> schema;  // null when compiling failed
  std::string error;
};

struct ToolEntry {
  ToolInfo info;
  Object::Ptr schema;
  std::string schema_file;  // for messages
  std::unique_ptr<CompiledSchema> compiled = std::make_unique<CompiledSchema>();
};

Poco::Dynamic::Var ParseJson(const char* text) {
  Poco::JSON::Parser parser;
  return parser.parse(text);
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
      a.types = SchemaTypes(s);
      if (s && s->has("items")) {
        std::vector<std::string> it = SchemaTypes(s->getObject("items"));
        if (!it.empty()) a.item_type = it[0];
      }
      a.required = std::find(required.begin(), required.end(), arg) != required.end();
      info.arguments.push_back(std::move(a));
    }
  }
  info.counts_variations = info.FindArgument("numberOfVariations") != nullptr;
  if (const ToolTraits* t = FindToolTraits(name)) {
    for (const MediaInput& in : t->inputs) {
      for (ArgumentInfo& a : info.arguments) {
        if (a.name != in.argument) continue;
        a.media_input = true;
        a.media = in.kind;
      }
    }
    info.outputs = t->outputs;
    info.cost_class = std::string(t->cost_class);
    info.default_seconds = t->default_seconds;
  }
  return info;
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

std::string ProtocolCatalog::RegexKeyword(const std::string& schema_json) {
  try {
    return FindRegexKeyword(ParseJson(schema_json.c_str()), "", false);
  } catch (const Poco::Exception& e) {
    return "(not JSON: " + e.displayText() + ")";
  }
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
        impl->tools.push_back(ToolEntry{DescribeTool(name, schema, is_step(name)), schema, file});
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
                                      "manifests/app-tools.json (" + name + ")"});
    }
    for (const ToolEntry& t : impl->tools)
      if (std::string at = FindRegexKeyword(t.schema, "", false); !at.empty())
        return Status::Internal("the schema of " + t.info.name + " (" + t.schema_file + ") uses " + at.substr(1) +
                                ", which valijson would check with std::regex on plan text; sogni-flow refuses it");
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
  if (!entry) return {ArgumentProblem{{}, "tool is not in the catalog", "", "catalog", ""}};
  std::vector<ArgumentProblem> problems;
  CompiledSchema& compiled = *entry->compiled;
  std::call_once(compiled.once, [&] {
    try {
      auto schema = std::make_unique<valijson::Schema>();
      valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
      Poco::Dynamic::Var schema_var = entry->schema;
      valijson::adapters::PocoJsonAdapter schema_adapter(schema_var);
      parser.populateSchema(schema_adapter, *schema);
      compiled.schema = std::move(schema);
    } catch (const std::exception& e) {
      compiled.error = e.what();
    }
  });
  if (!compiled.schema)
    return {ArgumentProblem{{}, "schema check failed: " + compiled.error, "", "schema", ""}};
  try {
    Poco::Dynamic::Var doc = ToPocoVar(arguments);
    valijson::adapters::PocoJsonAdapter adapter(doc);
    valijson::Validator validator;
    valijson::ValidationResults results;
    if (validator.validate(*compiled.schema, adapter, &results)) return problems;
    valijson::ValidationResults::Error error;
    while (results.popError(error)) {
      if (IsEnclosingReport(error.description)) continue;
      ArgumentProblem p = Explain(entry->schema, arguments, ContextToPath(error.context), error.description);
      if (p.rule == "additionalProperties") {
        std::vector<std::string> parent(p.path.begin(), p.path.end() - 1);
        std::vector<ArgumentProblem> all = UnknownMembers(entry->schema, arguments, parent);
        if (!all.empty()) {
          for (ArgumentProblem& u : all) {
            if (u.hint.empty()) u.hint = "rule 'additionalProperties' of " + entry->schema_file + " in " + impl_->source;
            problems.push_back(std::move(u));
          }
          continue;
        }
      }
      if (p.hint.empty()) p.hint = "rule '" + p.rule + "' of " + entry->schema_file + " in " + impl_->source;
      problems.push_back(std::move(p));
    }
  } catch (const std::exception& e) {
    problems.push_back(ArgumentProblem{{}, std::string("schema check failed: ") + e.what(), "", "schema", ""});
  }
  return problems;
}

}  // namespace sflow
