// Implementation details: the workflow-template routes (T1-T6). Rules from the docs
// (docs/api-contract.md section 2.6): private templates are visible only to their owner; public ones
// can be read and forked by anyone; update and delete answer "not owned" as 404; `id` is derived
// from the name when absent; `version` starts at 0.0.1 and each update bumps the patch; defaults
// are category "custom", stability "experimental", visibility "private".
#include <algorithm>

#include "sandbox/world.h"

namespace sflow {

namespace {

std::string Slug(const std::string& name) {
  std::string s;
  for (char c : name) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::isalnum(static_cast<unsigned char>(l))) s += l;
    else if (!s.empty() && s.back() != '-') s += '-';
  }
  while (!s.empty() && s.back() == '-') s.pop_back();
  return s.empty() ? "template" : s;
}

std::string BumpPatch(const std::string& version) {
  size_t dot = version.rfind('.');
  if (dot == std::string::npos) return version + ".1";
  int patch = std::atoi(version.c_str() + dot + 1);
  return version.substr(0, dot + 1) + std::to_string(patch + 1);
}

Reply Template(Value v) {
  Value data = Value::Object();
  data.Set("template", std::move(v));
  return Ok(std::move(data));
}

// What callers see: the stored record without the owner's key fingerprint spelled as such.
Value Public(const Value& stored) {
  Value v = stored;
  v.Erase("ownerId");
  return v;
}

bool Visible(const Value& t, const std::string& owner) {
  const Value* vis = t.Find("visibility");
  return t.Find("ownerId")->as_string() == owner || (vis && vis->is_string() && vis->as_string() == "public");
}

}  // namespace

Reply World::ListTemplates(const Caller& c, const std::string& visibility, int64_t offset, int64_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string vis = visibility.empty() ? "all" : visibility;
  if (vis != "own" && vis != "public" && vis != "all") return Error(400, "visibility must be own, public or all");
  limit = std::clamp<int64_t>(limit <= 0 ? 50 : limit, 1, 200);
  offset = std::max<int64_t>(offset, 0);
  std::vector<const Value*> match;
  for (const std::string& id : template_order_) {
    const Value& t = templates_[id];
    bool own = t.Find("ownerId")->as_string() == c.owner;
    bool pub = t.Find("visibility")->as_string() == "public";
    if ((vis == "own" && own) || (vis == "public" && pub) || (vis == "all" && (own || pub))) match.push_back(&t);
  }
  Value list = Value::Array();
  for (int64_t i = offset; i < static_cast<int64_t>(match.size()) && i < offset + limit; ++i) list.Append(Public(*match[i]));
  Value data = Value::Object();
  data.Set("templates", list);
  data.Set("next", offset + limit < static_cast<int64_t>(match.size()) ? Value::Int(offset + limit) : Value());
  return Ok(std::move(data));
}

Reply World::GetTemplate(const Caller& c, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = templates_.find(id);
  if (it == templates_.end() || !Visible(it->second, c.owner)) return Error(404, "Workflow template not found");
  return Template(Public(it->second));
}

Reply World::CreateTemplate(const Caller& c, const Value& body) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!body.is_object()) return Error(400, "Request body must be a JSON object");
  const Value* name = body.Find("name");
  if (!name || !name->is_string() || name->as_string().empty()) return Error(400, "Template requires a name");
  if (const Value* stages = body.Find("stages"); stages && !stages->is_array()) return Error(400, "stages must be an array");
  if (const Value* inputs = body.Find("inputs"); inputs && !inputs->is_array()) return Error(400, "inputs must be an array");
  std::string id;
  if (const Value* given = body.Find("id"); given && given->is_string() && !given->as_string().empty()) {
    id = given->as_string();
    if (templates_.count(id)) return Error(409, "A template with id '" + id + "' already exists");
  } else {
    id = Slug(name->as_string());
    for (int n = 2; templates_.count(id); ++n) id = Slug(name->as_string()) + "-" + std::to_string(n);
  }
  Value t = body;
  t.Set("id", Value::String(id));
  if (!t.Find("version")) t.Set("version", Value::String("0.0.1"));
  if (!t.Find("description")) t.Set("description", Value::String(""));
  if (!t.Find("category")) t.Set("category", Value::String("custom"));
  if (!t.Find("stability")) t.Set("stability", Value::String("experimental"));
  if (!t.Find("visibility")) t.Set("visibility", Value::String("private"));
  Value author = Value::Object();
  author.Set("userId", Value::String(c.owner));
  author.Set("displayName", Value::String("sandbox user"));
  t.Set("author", author);
  t.Set("createdAt", Value::String(IsoNow()));
  t.Set("updatedAt", Value::String(IsoNow()));
  t.Set("ownerId", Value::String(c.owner));
  templates_[id] = t;
  template_order_.push_back(id);
  dirty_ = true;
  return Template(Public(t));
}

Reply World::UpdateTemplate(const Caller& c, const std::string& id, const Value& body) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = templates_.find(id);
  if (it == templates_.end() || it->second.Find("ownerId")->as_string() != c.owner)
    return Error(404, "Workflow template not found");  // not owned reads as not found
  if (!body.is_object()) return Error(400, "Request body must be a JSON object");
  Value& t = it->second;
  for (const Value::Member& m : body.members()) {
    if (m.key == "id" || m.key == "ownerId" || m.key == "author" || m.key == "createdAt" || m.key == "version") continue;
    t.Set(m.key, m.value);
  }
  t.Set("version", Value::String(BumpPatch(t.Find("version")->as_string())));
  t.Set("updatedAt", Value::String(IsoNow()));
  dirty_ = true;
  return Template(Public(t));
}

Reply World::DeleteTemplate(const Caller& c, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = templates_.find(id);
  if (it == templates_.end() || it->second.Find("ownerId")->as_string() != c.owner)
    return Error(404, "Workflow template not found");
  templates_.erase(it);
  template_order_.erase(std::remove(template_order_.begin(), template_order_.end(), id), template_order_.end());
  dirty_ = true;
  Value data = Value::Object();
  data.Set("deleted", Value::Bool(true));
  data.Set("id", Value::String(id));
  return Ok(std::move(data));
}

Reply World::ForkTemplate(const Caller& c, const std::string& id, const Value& body) {
  Value copy;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = templates_.find(id);
    if (it == templates_.end() || !Visible(it->second, c.owner)) return Error(404, "Workflow template not found");
    copy = Public(it->second);
  }
  const Value* new_name = body.is_object() ? body.Find("newName") : nullptr;
  std::string name = new_name && new_name->is_string() && !new_name->as_string().empty()
                         ? new_name->as_string()
                         : copy.Find("name")->as_string() + " (fork)";
  copy.Erase("id");
  copy.Erase("author");
  copy.Erase("createdAt");
  copy.Erase("updatedAt");
  copy.Set("name", Value::String(name));
  copy.Set("visibility", Value::String("private"));
  copy.Set("version", Value::String("0.0.1"));
  copy.Set("forkedFrom", Value::String(id));
  return CreateTemplate(c, copy);
}

}  // namespace sflow
