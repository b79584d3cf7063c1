// Implementation details: media objects are served like a presigned bucket: the URL's signature
// and expiry are checked (403 in S3's words otherwise), Range requests get 206 so an interrupted
// download can resume. Per object, `downloads` counts the answers that delivered the object from
// byte 0 to its end, and `resumedDownloads` those that finished it from a later byte (a Range
// resume completes an earlier download; it is not a second one).
// Uploads arrive as a presigned multipart POST (every `fields` entry, then `file` last: 204) or
// a raw PUT (200).
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <limits>
#include <optional>

#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/MessageHeader.h>
#include <Poco/Net/MultipartReader.h>
#include <Poco/StreamCopier.h>

#include "sandbox/routes.h"

namespace sflow {

namespace {

void SendXmlError(RouteContext& ctx, int status, const std::string& code, const std::string& message) {
  ctx.body().ignore(std::numeric_limits<std::streamsize>::max());
  ctx.status = status;
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" + message +
                     "</Message></Error>";
  ctx.resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  ctx.resp.setContentType("application/xml");
  ctx.resp.setContentLength(static_cast<std::streamsize>(body.size()));
  ctx.resp.sendBuffer(body.data(), body.size());
}

// Polls the request's connection for up to `timeout_ms`: the poll result's events, and whether a
// one-byte peek saw an orderly close (0), data (1) or an error (-1, with its errno). nullopt when the
// request is not on a plain server socket or nothing happened.
struct ClientPoll {
  short revents = 0;
  ssize_t peek = 1;
  int error = 0;  // errno of a failed peek
};
std::optional<ClientPoll> PollClient(RouteContext& ctx, int timeout_ms) {
  auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&ctx.req);
  if (!impl) return std::nullopt;
  int fd = impl->socket().impl()->sockfd();
  struct pollfd p{};
  p.fd = fd;
  p.events = POLLIN | POLLRDHUP;
  if (::poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
  char c;
  ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return ClientPoll{p.revents, n, n < 0 ? errno : 0};
}

// True when the client has closed its end of the connection already (killed while the object was
// being made, say). An HTTP client never half-closes while it awaits an answer, so nothing sent
// now reaches anyone; the kernel would still take the bytes, and a download that nobody
// received would be counted.
bool ClientGone(RouteContext& ctx) {
  std::optional<ClientPoll> p = PollClient(ctx, 0);
  return p && ((p->revents & (POLLRDHUP | POLLHUP | POLLERR)) || p->peek == 0);
}

// After the last byte of an answer to a client that asked for `Connection: close`: waits (at most
// 2 s) for it to close and tells how. A reset means it went away without handling the object:
// Linux resets a connection closed with unread data (a process killed mid-download), and
// sogni-flow's transport resets one whose body it had not finished handing over (api/
// http_transport.h). An orderly close, a next request or silence mean the object was delivered.
bool DeliveredBeforeClose(RouteContext& ctx) {
  std::optional<ClientPoll> p = PollClient(ctx, 2000);
  if (!p) return true;
  if (p->revents & POLLERR) return false;
  return p->peek >= 0 || (p->error != ECONNRESET && p->error != EPIPE);
}

}  // namespace

void ServeMedia(RouteContext& ctx, const std::string& object_id) {
  auto q = [&](const char* k) { return ctx.query.count(k) ? ctx.query.at(k) : std::string(); };
  if (!ctx.world.CheckSignature(object_id, q("X-Amz-Expires"), q("X-Amz-Signature")))
    return SendXmlError(ctx, 403, "AccessDenied", "Request has expired or the signature does not match");
  std::string bytes, type;
  if (!ctx.world.MediaBytes(object_id, &bytes, &type)) return SendXmlError(ctx, 404, "NoSuchKey", "The specified key does not exist.");

  size_t begin = 0, end = bytes.size();  // [begin, end)
  bool partial = false;
  if (ctx.req.has("Range")) {
    std::string r = ctx.req.get("Range");
    unsigned long long a = 0, b = 0;
    int n = std::sscanf(r.c_str(), "bytes=%llu-%llu", &a, &b);
    if (n >= 1 && a < bytes.size()) {
      begin = static_cast<size_t>(a);
      if (n == 2 && b + 1 < bytes.size()) end = static_cast<size_t>(b + 1);
      partial = true;
    } else if (n >= 1) {
      ctx.status = 416;
      ctx.resp.setStatus(Poco::Net::HTTPResponse::HTTP_REQUESTED_RANGE_NOT_SATISFIABLE);
      ctx.resp.set("Content-Range", "bytes */" + std::to_string(bytes.size()));
      ctx.resp.setContentLength(0);
      ctx.resp.send();
      return;
    }
  }
  if (ctx.method != "HEAD" && ClientGone(ctx)) {
    ctx.status = 499;  // nginx's "client closed request": nothing is sent, nothing counted
    ctx.resp.setKeepAlive(false);
    throw Poco::IOException("media: the client has gone");
  }
  ctx.status = partial ? 206 : 200;
  ctx.resp.setStatus(partial ? Poco::Net::HTTPResponse::HTTP_PARTIAL_CONTENT : Poco::Net::HTTPResponse::HTTP_OK);
  ctx.resp.setContentType(type);
  ctx.resp.set("Accept-Ranges", "bytes");
  ctx.resp.set("ETag", "\"" + object_id + "-" + std::to_string(bytes.size()) + "\"");
  if (partial)
    ctx.resp.set("Content-Range", "bytes " + std::to_string(begin) + "-" + std::to_string(end - 1) + "/" + std::to_string(bytes.size()));
  ctx.resp.setContentLength(static_cast<std::streamsize>(end - begin));
  if (ctx.method == "HEAD") {
    ctx.resp.send();
    return;
  }
  // Begun before the first byte, ended (counted or not) however this answer ends.
  struct Delivery {
    World& world;
    bool ended = false;
    void End(const std::string& id, bool count, bool resumed) {
      world.EndDelivery(id, count, resumed);
      ended = true;
    }
    ~Delivery() {
      if (!ended) world.EndDelivery("", false, false);
    }
  } delivery{ctx.world};
  ctx.world.BeginDelivery();
  std::ostream& out = ctx.resp.send();
  if (end - begin > 1 && ctx.world.faults().Roll("media_short_body")) {
    out.write(bytes.data() + begin, static_cast<std::streamsize>((end - begin) / 2));
    out.flush();
    ctx.resp.setKeepAlive(false);
    throw Poco::IOException("media_short_body");  // drops the connection with the body short
  }
  out.write(bytes.data() + begin, static_cast<std::streamsize>(end - begin));
  out.flush();
  // Not counted: short, or reset with bytes unread.
  bool delivered = out.good() && end == bytes.size() && (ctx.req.getKeepAlive() || DeliveredBeforeClose(ctx));
  delivery.End(object_id, delivered, /*resumed=*/begin > 0);
}

void ReceiveUpload(RouteContext& ctx, const std::string& token) {
  std::string type, bytes;
  if (ctx.method == "PUT") {
    type = ctx.req.getContentType();
    Poco::StreamCopier::copyToString(ctx.body(), bytes);
  } else {
    Poco::Net::MessageHeader h;
    std::string boundary;
    std::string ct = ctx.req.getContentType();
    size_t at = ct.find("boundary=");
    if (ct.rfind("multipart/form-data", 0) != 0 || at == std::string::npos)
      return SendXmlError(ctx, 400, "InvalidRequest", "Expected multipart/form-data");
    boundary = ct.substr(at + 9);
    if (!boundary.empty() && boundary.front() == '"') boundary = boundary.substr(1, boundary.size() - 2);
    Poco::Net::MultipartReader reader(ctx.body(), boundary);
    bool have_file = false;
    while (reader.hasNextPart()) {
      Poco::Net::MessageHeader part;
      reader.nextPart(part);
      std::string disposition = part.get("Content-Disposition", "");
      std::string content;
      Poco::StreamCopier::copyToString(reader.stream(), content);
      if (have_file)
        return SendXmlError(ctx, 400, "InvalidArgument", "POST requires exactly one file upload per request, as the last part");
      if (disposition.find("name=\"file\"") != std::string::npos) {
        have_file = true;
        bytes = std::move(content);
        type = part.get("Content-Type", "");
      } else if (disposition.find("name=\"Content-Type\"") != std::string::npos) {
        type = content;
      }
    }
    if (!have_file) return SendXmlError(ctx, 400, "InvalidArgument", "POST requires a file part");
  }
  if (bytes.size() > 100000000u) return SendXmlError(ctx, 400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
  if (!ctx.world.FillUploadSlot(token, type, std::move(bytes)))
    return SendXmlError(ctx, 403, "AccessDenied", "Invalid or used upload URL");
  ctx.status = ctx.method == "PUT" ? 200 : 204;
  ctx.resp.setStatus(ctx.method == "PUT" ? Poco::Net::HTTPResponse::HTTP_OK : Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
  ctx.resp.setContentLength(0);
  ctx.resp.send();
}

}  // namespace sflow
