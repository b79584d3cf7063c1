#include "runner/media_upload.h"

#include <fstream>
#include <sstream>

#include "engine/media.h"
#include "engine/random.h"

namespace sflow {

namespace {

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string NewBoundary() {
  static const char kHex[] = "0123456789abcdef";
  std::string b = "----sogni-flow-";
  for (int half = 0; half < 2; ++half)
    for (uint64_t r = RandomU64(), i = 0; i < 12; ++i, r >>= 4) b += kHex[r & 15];
  return b;
}

bool V2Missing(const Status& s, const ApiError& e) {
  return s.code() == Status::Code::kNotFound || e.http_status == 404 || e.http_status == 405;
}

Result<std::string> UploadOne(const MediaEntry& m, const LocalMediaCheck& file, const std::string& bytes,
                              ApiClient& client, HttpTransport& transport, const std::string& job_id) {
  MediaUrlQuery q;
  bool image = m.kind == MediaKind::kImage;
  q.family = image ? "image" : "media";
  q.type = image ? "referenceImage" : (m.kind == MediaKind::kAudio ? "referenceAudio" : "referenceVideo");
  q.job_id = job_id;
  q.content_type = file.sniff.mime;
  q.id = m.name;
  q.version = 2;
  Result<Value> up = client.GetUploadUrl(q);
  if (up.ok()) {
    HttpRequest post;
    post.method = "POST";
    post.url = up->Find("url")->as_string();
    std::string boundary = NewBoundary();
    post.headers.push_back({"Content-Type", "multipart/form-data; boundary=" + boundary});
    post.body = MultipartBody(*up->Find("fields"), BaseName(file.resolved), q.content_type, bytes, boundary);
    Result<HttpResponse> r = transport.Send(post);
    if (!r.ok()) return r.status();
    if (r->status < 200 || r->status > 299)
      return Status::Error(Status::Code::kUnavailable, "the presigned upload of media '" + m.name + "' answered HTTP " +
                                                         std::to_string(r->status));
  } else if (V2Missing(up.status(), client.last_error())) {
    q.version = 1;
    Result<Value> v1 = client.GetUploadUrl(q);
    if (!v1.ok()) return v1.status();
    HttpRequest put;
    put.method = "PUT";
    put.url = v1->Find("uploadUrl")->as_string();
    put.headers.push_back({"Content-Type", q.content_type});
    put.body = bytes;
    Result<HttpResponse> r = transport.Send(put);
    if (!r.ok()) return r.status();
    if (r->status < 200 || r->status > 299)
      return Status::Error(Status::Code::kUnavailable, "the presigned upload of media '" + m.name + "' answered HTTP " +
                                                         std::to_string(r->status));
  } else {
    return up.status();
  }
  return client.GetDownloadUrl(q);
}

}  // namespace

std::string MultipartBody(const Value& fields, const std::string& file_name, const std::string& content_type,
                          const std::string& bytes, const std::string& boundary) {
  std::string body;
  for (const Value::Member& f : fields.members()) {
    body += "--" + boundary + "\r\n";
    body += "Content-Disposition: form-data; name=\"" + f.key + "\"\r\n\r\n";
    body += f.value.is_string() ? f.value.as_string() : f.value.ToJson();
    body += "\r\n";
  }
  std::string safe_name;
  for (char ch : file_name) safe_name += (ch == '"' || ch == '\r' || ch == '\n' || ch == '\\') ? '_' : ch;
  body += "--" + boundary + "\r\n";
  body += "Content-Disposition: form-data; name=\"file\"; filename=\"" + safe_name + "\"\r\n";
  body += "Content-Type: " + content_type + "\r\n\r\n";
  body += bytes;
  body += "\r\n--" + boundary + "--\r\n";
  return body;
}

Result<std::vector<WireMedia>> ResolveMedia(const Plan& plan, ApiClient& client, HttpTransport& transport,
                                            const std::string& job_id, std::ostream* progress) {
  std::vector<WireMedia> out;
  const std::string& dir = plan.directory;
  for (const MediaEntry& m : plan.media) {
    WireMedia wm;
    wm.name = m.name;
    wm.kind = m.kind;
    if (m.path.empty()) {
      wm.url = m.url;
      out.push_back(std::move(wm));
      continue;
    }
    LocalMediaCheck file = CheckLocalMedia(dir, m.path);
    if (!file.error.empty()) return Status::IOError("media '" + m.name + "': " + file.error);
    std::ifstream in(file.resolved, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (!in) return Status::IOError("cannot read media '" + m.name + "' (" + file.resolved + ")");
    if (progress) *progress << "uploading media '" << m.name << "' (" << bytes.str().size() << " bytes)\n";
    Result<std::string> url = UploadOne(m, file, bytes.str(), client, transport, job_id);
    if (!url.ok()) return Status::Error(url.status().code(), "upload of media '" + m.name + "': " + url.status().message());
    wm.mime_type = file.sniff.mime;
    wm.url = *url;
    out.push_back(std::move(wm));
  }
  return out;
}

}  // namespace sflow
