// The template, account and media routes of ApiClient (api_client.h).
#include <algorithm>

#include "api/api_client.h"
#include "api/api_client_call.h"
#include "api/api_envelope.h"
#include "api/http_url.h"

namespace sflow {

using api_internal::Invalid;
using api_internal::SetIf;
using api_internal::AddQuery;
using api_internal::NextOffset;
using api_internal::LocalError;

namespace {

constexpr char kTemplates[] = "/v1/creative-agent/workflows/templates";

}  // namespace

// --- Templates -------------------------------------------------------------------------------

Result<TemplatePage> ApiClient::ListTemplates(const std::string& visibility, std::optional<int64_t> limit,
                                              std::optional<int64_t> offset) {
  std::string q;
  AddQuery(&q, "visibility", visibility);
  if (offset) AddQuery(&q, "offset", std::to_string(std::max<int64_t>(0, *offset)));
  if (limit) AddQuery(&q, "limit", std::to_string(std::clamp<int64_t>(*limit, 1, 200)));
  Result<Value> data = Run(Call{"GET", kTemplates, q, nullptr, "", "templates", Value::Kind::kArray, true});
  if (!data.ok()) return data.status();
  TemplatePage page;
  for (const Value& t : data->Find("templates")->items()) {
    const Value* id = t.Find("id");
    const Value* name = t.Find("name");
    if (id && id->is_string() && name && name->is_string()) page.templates.push_back(t);
  }
  page.next = NextOffset(*data);
  return page;
}

Result<Value> ApiClient::GetTemplate(const std::string& id) {
  Result<Value> data = Run(Call{"GET", std::string(kTemplates) + "/" + EncodeUriComponent(id), "", nullptr, "",
                                "template", Value::Kind::kObject, true});
  if (!data.ok()) return data.status();
  return *data->Find("template");
}

Result<Value> ApiClient::CreateTemplate(const Value& record) {
  Result<Value> data = Run(Call{"POST", kTemplates, "", &record, "", "template", Value::Kind::kObject, true});
  if (!data.ok()) return data.status();
  return *data->Find("template");
}

Result<Value> ApiClient::UpdateTemplate(const std::string& id, const Value& patch) {
  Result<Value> data = Run(Call{"PATCH", std::string(kTemplates) + "/" + EncodeUriComponent(id), "", &patch, "",
                                "template", Value::Kind::kObject, true});
  if (!data.ok()) return data.status();
  return *data->Find("template");
}

Result<Value> ApiClient::DeleteTemplate(const std::string& id) {
  return Run(Call{"DELETE", std::string(kTemplates) + "/" + EncodeUriComponent(id), "", nullptr, "", "",
                  Value::Kind::kObject, true});
}

Result<Value> ApiClient::ForkTemplate(const std::string& id, const std::string& new_name) {
  Value body = Value::Object();
  SetIf(&body, "newName", new_name);
  Result<Value> data = Run(Call{"POST", std::string(kTemplates) + "/" + EncodeUriComponent(id) + "/fork", "", &body, "",
                                "template", Value::Kind::kObject, true});
  if (!data.ok()) return data.status();
  return *data->Find("template");
}

// --- Account and media -----------------------------------------------------------------------

Result<Value> ApiClient::Me() { return Run(Call{"GET", "/v1/account/me"}); }

namespace {

Status MediaQuery(const MediaUrlQuery& m, const char* what, std::string* path, std::string* query) {
  if (m.family != "image" && m.family != "media") return Invalid("media family must be image or media");
  if (m.version != 1 && m.version != 2) return Invalid("media URL version must be 1 or 2");
  if (m.job_id.empty() || m.type.empty()) return Invalid("jobId and type are required");
  *path = "/v" + std::to_string(m.version) + "/" + m.family + "/" + what;
  AddQuery(query, "jobId", m.job_id);
  AddQuery(query, "type", m.type);
  AddQuery(query, "contentType", m.content_type);
  AddQuery(query, m.family == "image" ? "imageId" : "id", m.id);
  return Status::OK();
}

}  // namespace

Result<Value> ApiClient::GetUploadUrl(const MediaUrlQuery& m) {
  Call call{"GET"};
  if (Status s = MediaQuery(m, "uploadUrl", &call.path, &call.query); !s.ok()) return Fail(call, LocalError(s.message()), s);
  call.key = m.version == 2 ? "url" : "uploadUrl";
  call.kind = Value::Kind::kString;
  Result<Value> data = Run(call);
  if (!data.ok()) return data.status();
  const Value* fields = data->Find("fields");
  if (m.version == 2 && (!fields || !fields->is_object())) {
    Status s = MalformedAnswer(200, "the response did not include data.fields (a mapping)");
    return Fail(call, LocalError(s.message(), 200), s);
  }
  return data;
}

Result<std::string> ApiClient::GetDownloadUrl(const MediaUrlQuery& m) {
  Call call{"GET"};
  if (Status s = MediaQuery(m, "downloadUrl", &call.path, &call.query); !s.ok()) return Fail(call, LocalError(s.message()), s);
  call.key = "downloadUrl";
  call.kind = Value::Kind::kString;
  Result<Value> data = Run(call);
  if (!data.ok()) return data.status();
  return data->Find("downloadUrl")->as_string();
}

}  // namespace sflow
