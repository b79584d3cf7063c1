#include "api/http_answer_reader.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

namespace sflow {

bool ParseHttpHead(std::string_view text, HttpResponse* out) {
  size_t eol = text.find("\r\n");
  std::string_view line = text.substr(0, eol);
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ') return false;
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return false;
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100 || (line.size() > 12 && line[12] != ' ')) return false;
  out->status = status;
  out->reason = std::string(line.size() > 13 ? line.substr(13) : std::string_view());
  out->headers.clear();
  size_t pos = eol == std::string_view::npos ? text.size() : eol + 2;
  while (pos < text.size()) {
    size_t end = text.find("\r\n", pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view h = text.substr(pos, end - pos);
    pos = end + 2;
    if (h.empty()) continue;
    if (h[0] == ' ' || h[0] == '\t') return false;  // obsolete line folding
    size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view name = h.substr(0, colon), value = h.substr(colon + 1);
    for (char c : name)
      if (c <= 0x20 || c == 0x7f) return false;
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    out->headers.emplace_back(std::string(name), std::string(value));
  }
  return true;
}

void HttpAnswerReader::Fail(const std::string& why) {
  phase_ = Phase::kFailed;
  error_ = Status::Error(Status::Code::kUnavailable, "answer from " + where_ + " " + why);
}

size_t HttpAnswerReader::Feed(std::string_view bytes, Sink& sink) {
  size_t used = 0;
  while (used < bytes.size() && (phase_ == Phase::kHead || phase_ == Phase::kBody)) {
    if (phase_ == Phase::kHead) {
      // Take up to the end of the head (or everything, when it has not come yet).
      const size_t before = head_bytes_.size();
      std::string_view rest = bytes.substr(used);
      head_bytes_.append(rest.data(), rest.size());
      size_t end = head_bytes_.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
      if ((end == std::string::npos ? head_bytes_.size() : end) > kMaxHeadBytes) {
        Fail("has a head longer than 64 KiB");
        return bytes.size();
      }
      if (end == std::string::npos) return bytes.size();
      used += end + 4 - before;  // the head's own bytes of this piece
      head_bytes_.resize(end);
      BeginBody(sink);
      continue;
    }
    bool paused = false;
    used += BodyStep(bytes.data() + used, bytes.size() - used, sink, &paused);
    if (paused) return phase_ == Phase::kDone ? bytes.size() : used;  // paused on its last piece: ended
  }
  return phase_ == Phase::kDone || phase_ == Phase::kFailed ? bytes.size() : used;
}

void HttpAnswerReader::BeginBody(Sink& sink) {
  HttpResponse head;
  const bool parsed = ParseHttpHead(head_bytes_, &head);
  head_bytes_.clear();
  if (!parsed) return Fail("has a malformed head");
  if (head.status < 200) return;  // an interim answer (100 Continue): the real one follows
  head_ = std::move(head);
  phase_ = Phase::kBody;
  // Every Transfer-Encoding and Content-Length field: one coding, "chunked", alone (a body
  // compressed by another coding would reach the reader as event text); lengths that agree.
  std::vector<const std::string*> te, cl;
  for (const auto& [k, v] : head_.headers) {
    if (k.size() == 17 && strncasecmp(k.data(), "Transfer-Encoding", 17) == 0) te.push_back(&v);
    if (k.size() == 14 && strncasecmp(k.data(), "Content-Length", 14) == 0) cl.push_back(&v);
  }
  if (head_.status == 204 || head_.status == 304) {
    framing_ = Framing::kNone;
  } else if (!te.empty()) {
    if (te.size() != 1 || te[0]->size() != 7 || strncasecmp(te[0]->data(), "chunked", 7) != 0)
      return Fail("has a transfer coding other than chunked alone");
    framing_ = Framing::kChunked;
  } else if (!cl.empty()) {
    for (const std::string* v : cl)
      if (v->empty() || v->size() > 18 || v->find_first_not_of("0123456789") != std::string::npos || *v != *cl[0])
        return Fail("has a malformed Content-Length");
    framing_ = Framing::kLength;
    left_ = std::stoull(*cl[0]);
  } else {
    framing_ = Framing::kClose;
  }
  if (sink.OnHead(head_) == Action::kStop) {
    phase_ = Phase::kDone;
    return;
  }
  if (framing_ == Framing::kNone || (framing_ == Framing::kLength && left_ == 0)) phase_ = Phase::kDone;
}

bool HttpAnswerReader::Deliver(const char* p, size_t n, Sink& sink, bool* paused) {
  if (n == 0) return true;
  switch (sink.OnBody(std::string_view(p, n))) {
    case Action::kContinue:
      return true;
    case Action::kPause:
      *paused = true;
      return false;
    case Action::kStop:
      phase_ = Phase::kDone;
      return false;
  }
  return true;
}

size_t HttpAnswerReader::BodyStep(const char* p, size_t n, Sink& sink, bool* paused) {
  switch (framing_) {
    case Framing::kNone:
      return n;  // bytes after a body without one are ignored (the connection closes)
    case Framing::kClose:
      Deliver(p, n, sink, paused);
      return n;
    case Framing::kLength: {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(left_, n));
      left_ -= take;
      const bool last = left_ == 0;
      if (Deliver(p, take, sink, paused) && last) phase_ = Phase::kDone;
      else if (last && phase_ == Phase::kBody) phase_ = Phase::kDone;  // paused on the last piece
      return take;
    }
    case Framing::kChunked:
      return ChunkStep(p, n, sink, paused);
  }
  return n;
}

size_t HttpAnswerReader::ChunkStep(const char* p, size_t n, Sink& sink, bool* paused) {
  if (chunk_ == Chunk::kData) {
    const size_t take = static_cast<size_t>(std::min<uint64_t>(left_, n));
    left_ -= take;
    if (left_ == 0) chunk_ = Chunk::kDataEnd;
    Deliver(p, take, sink, paused);
    return take;
  }
  // A line: a chunk's size, the end of a chunk's data, or a trailer field.
  const char* nl = static_cast<const char*>(std::memchr(p, '\n', n));
  const size_t upto = nl ? static_cast<size_t>(nl - p) : n;
  line_.append(p, upto);
  if (line_.size() > kMaxLineBytes) {
    Fail("has a malformed chunked body (a line too long)");
    return n;
  }
  if (!nl) return n;
  std::string line;
  line.swap(line_);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const size_t taken = upto + 1;
  if (chunk_ == Chunk::kDataEnd) {
    if (!line.empty()) {
      Fail("has a malformed chunked body (no line end after a chunk)");
      return n;
    }
    chunk_ = Chunk::kSize;
    return taken;
  }
  if (chunk_ == Chunk::kTrailer) {
    if (line.empty()) phase_ = Phase::kDone;  // trailer fields are not used
    return taken;
  }
  size_t i = 0;
  uint64_t size = 0;
  for (; i < line.size() && std::isxdigit(static_cast<unsigned char>(line[i])); ++i) {
    if (i >= 15) {
      Fail("has a malformed chunked body (a chunk size too large)");
      return n;
    }
    const unsigned char c = static_cast<unsigned char>(line[i]);
    size = size * 16 + static_cast<uint64_t>(std::isdigit(c) ? c - '0' : std::tolower(c) - 'a' + 10);
  }
  if (i == 0) {
    Fail("has a malformed chunked body (no chunk size)");
    return n;
  }
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (i < line.size() && line[i] != ';') {
    Fail("has a malformed chunked body (a malformed chunk size)");
    return n;
  }
  if (size == 0) {
    chunk_ = Chunk::kTrailer;
  } else {
    chunk_ = Chunk::kData;
    left_ = size;
  }
  return taken;
}

void HttpAnswerReader::End() {
  if (phase_ == Phase::kHead) {
    if (head_bytes_.empty()) {
      phase_ = Phase::kFailed;
      error_ = Status::Error(Status::Code::kUnavailable, "no answer from " + where_ + " (connection closed)");
    } else {
      Fail("was cut short");
    }
    return;
  }
  if (phase_ != Phase::kBody) return;
  if (framing_ == Framing::kClose || framing_ == Framing::kNone) {
    phase_ = Phase::kDone;
    return;
  }
  Fail("was cut short");
}

}  // namespace sflow
