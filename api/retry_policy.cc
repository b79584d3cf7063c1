#include "api/retry_policy.h"

#include <algorithm>
#include <atomic>
#include <array>
#include <cctype>
#include <cmath>
#include <sstream>
#include <thread>
#include <vector>

#include "api/http_transport.h"
#include "engine/json.h"
#include "engine/random.h"

namespace sflow {

namespace {

std::atomic<bool> retry_waits_interrupted{false};

class RealClock : public RetryClock {
 public:
  std::chrono::steady_clock::time_point Now() override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point WallNow() override { return std::chrono::system_clock::now(); }
  bool SleepFor(std::chrono::milliseconds d) override {
    ApiWait waiting;  // a retry's wait is a wait on the API
    const std::chrono::milliseconds slice{50};  // how soon a stop is seen
    while (d.count() > 0) {
      if (retry_waits_interrupted.load(std::memory_order_relaxed)) return false;
      const std::chrono::milliseconds step = std::min(d, slice);
      std::this_thread::sleep_for(step);
      d -= step;
    }
    return !retry_waits_interrupted.load(std::memory_order_relaxed);
  }
};

}  // namespace

void SetRetryWaitsInterrupted(bool interrupted) { retry_waits_interrupted.store(interrupted, std::memory_order_relaxed); }
bool RetryWaitsInterrupted() { return retry_waits_interrupted.load(std::memory_order_relaxed); }

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int Month(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < kMonths.size(); ++i)
    if (s == kMonths[i]) return static_cast<int>(i) + 1;
  return 0;
}

bool IsWeekday(std::string_view s) {
  return s.size() >= 3 && std::all_of(s.begin(), s.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
}

// "HH:MM:SS" -> seconds of the day.
std::optional<int> TimeOfDay(std::string_view s) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return std::nullopt;
  if (!AllDigits(s.substr(0, 2)) || !AllDigits(s.substr(3, 2)) || !AllDigits(s.substr(6, 2))) return std::nullopt;
  int h = std::stoi(std::string(s.substr(0, 2))), m = std::stoi(std::string(s.substr(3, 2))),
      sec = std::stoi(std::string(s.substr(6, 2)));
  if (h > 23 || m > 59 || sec > 60) return std::nullopt;
  return h * 3600 + m * 60 + sec;
}

std::optional<int64_t> Assemble(int64_t year, int month, std::string_view day, std::string_view time) {
  if (month == 0 || !AllDigits(day) || day.size() > 2) return std::nullopt;
  int d = std::stoi(std::string(day));
  std::optional<int> tod = TimeOfDay(time);
  if (d < 1 || d > 31 || !tod) return std::nullopt;
  return DaysFromCivil(year, month, d) * 86400 + *tod;
}

std::optional<double> NumberField(const Value& v, std::string_view key) {
  const Value* f = v.is_object() ? v.Find(key) : nullptr;
  if (!f || !f->is_number() || !std::isfinite(f->as_number()) || f->as_number() < 0) return std::nullopt;
  return f->as_number();
}

}  // namespace

RetryClock* RetryClock::Real() {
  static RealClock clock;
  return &clock;
}

std::optional<int64_t> ParseHttpDate(std::string_view value) {
  std::string text(value);
  for (char& c : text)
    if (c == ',' || c == '-') c = ' ';
  std::istringstream in(text);
  std::vector<std::string> t;
  for (std::string w; in >> w;) t.push_back(w);
  if (t.size() == 6 && IsWeekday(t[0]) && (t[5] == "GMT" || t[5] == "UTC") && AllDigits(t[3])) {
    // IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" or RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT".
    int64_t year = std::stoll(t[3].substr(0, 6));
    if (t[3].size() == 2) year += year < 70 ? 2000 : 1900;
    else if (t[3].size() != 4) return std::nullopt;
    return Assemble(year, Month(t[2]), t[1], t[4]);
  }
  if (t.size() == 5 && IsWeekday(t[0]) && AllDigits(t[4]) && t[4].size() == 4) {
    // asctime "Sun Nov  6 08:49:37 1994".
    return Assemble(std::stoll(t[4]), Month(t[1]), t[2], t[3]);
  }
  return std::nullopt;
}

std::optional<double> ParseRetryAfter(std::string_view value, std::string_view date_header,
                                      std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (AllDigits(value)) {
    if (value.size() > 9) return 1e9;  // absurd; the caller clamps it
    return static_cast<double>(std::stoll(std::string(value)));
  }
  std::optional<int64_t> at = ParseHttpDate(value);
  if (!at) return std::nullopt;
  std::optional<int64_t> base = ParseHttpDate(date_header);
  int64_t reference = base ? *base : std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return static_cast<double>(std::max<int64_t>(0, *at - reference));
}

AttemptResult AttemptResult::FromResponse(const Result<HttpResponse>& r) {
  AttemptResult a;
  if (!r.ok()) {
    a.transport = r.status();
    return a;
  }
  a.http_status = r->status;
  a.retry_after_header = r->Header("Retry-After");
  a.date_header = r->Header("Date");
  if (a.http_status >= 400 && !r->body.empty() && r->body.size() < (1 << 20)) {
    Result<Value> body = ParseJson(r->body);
    if (body.ok()) {
      a.body_retry_after = NumberField(*body, "retryAfter");
      const Value* data = body->is_object() ? body->Find("data") : nullptr;
      if (!a.body_retry_after && data) a.body_retry_after = NumberField(*data, "retryAfter");
    }
  }
  return a;
}

namespace {

// The path of a URL, without scheme, host or query: what a retry notice may show.
std::string UrlPathForMessages(const std::string& url) {
  size_t scheme = url.find("://");
  size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (path == std::string::npos) return "/";
  return url.substr(path, url.find_first_of("?#", path) - path);
}

std::string Seconds(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  return std::to_string((ms + 500) / 1000) + "s";
}

}  // namespace

std::string RetryNotice::Describe() const {
  return "API unavailable (" + request + ": " + why + "); retrying, next try in " + Seconds(delay) + " (attempt " +
         std::to_string(attempt + 1) + " of " + std::to_string(max_attempts) + ")";
}

RetryPolicy::RetryPolicy(RetryOptions options, RetryClock* clock)
    : options_(options), clock_(clock ? clock : RetryClock::Real()),
      rng_(options.seed ? *options.seed : RandomU64()) {}

bool RetryPolicy::SafeToRepeat(std::string_view method, bool has_idempotency_key) {
  return has_idempotency_key || method == "GET" || method == "HEAD" || method == "OPTIONS";
}

bool RetryPolicy::SafeToRepeat(const HttpRequest& request) {
  const std::string* key = FindHeader(request.headers, "Idempotency-Key");
  return SafeToRepeat(request.method, key != nullptr && !key->empty());
}

bool RetryPolicy::Transient(const AttemptResult& a) {
  if (!a.transport.ok()) return a.transport.code() == Status::Code::kUnavailable;
  return a.http_status == 408 || a.http_status == 429 || (a.http_status >= 500 && a.http_status <= 599);
}

std::chrono::milliseconds RetryPolicy::Backoff(int n) {
  const double base = static_cast<double>(options_.base_delay.count());
  const double cap = static_cast<double>(options_.max_delay.count());
  const double upper = std::min(cap, base * std::pow(2.0, std::clamp(n - 1, 0, 62)));
  std::uniform_int_distribution<int64_t> dist(0, static_cast<int64_t>(upper));
  return std::chrono::milliseconds(dist(rng_));
}

std::optional<std::chrono::milliseconds> RetryPolicy::ServerHint(const AttemptResult& a) const {
  std::optional<double> seconds = a.body_retry_after;
  if (!seconds && !a.retry_after_header.empty())
    seconds = ParseRetryAfter(a.retry_after_header, a.date_header, clock_->WallNow());
  if (!seconds) return std::nullopt;
  double ms = std::min(*seconds * 1000.0, static_cast<double>(options_.max_retry_after.count()));
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(ms)));
}

std::chrono::milliseconds RetryPolicy::DelayBefore(int n, const AttemptResult& a) {
  std::optional<std::chrono::milliseconds> hint = ServerHint(a);
  std::chrono::milliseconds d = hint ? *hint : Backoff(n);
  if (a.http_status == 429) d = std::max(d, options_.base_delay);  // never again at once
  return d;
}

Result<HttpResponse> RetryPolicy::Execute(HttpTransport& transport, const HttpRequest& request, int* attempts) {
  const auto start = clock_->Now();
  const bool repeatable = SafeToRepeat(request);
  for (int n = 1;; ++n) {
    Result<HttpResponse> r = transport.Send(request);
    if (attempts) *attempts = n;
    AttemptResult a = AttemptResult::FromResponse(r);
    bool again = repeatable && Transient(a) && n < options_.max_attempts;
    std::chrono::milliseconds delay{0};
    if (again) {
      delay = DelayBefore(n, a);
      again = clock_->Now() - start + delay <= options_.time_budget;
    }
    if (!again) {
      if (!r.ok() && r.status().code() == Status::Code::kUnavailable && n > 1)
        return Status::Error(Status::Code::kUnavailable,
                             r.status().message() + " (after " + std::to_string(n) + " attempts)");
      return r;
    }
    if (options_.on_retry) {
      RetryNotice notice;
      notice.request = request.method + " " + UrlPathForMessages(request.url);
      notice.why = r.ok() ? "HTTP " + std::to_string(r->status) : r.status().message();
      notice.attempt = n;
      notice.max_attempts = options_.max_attempts;
      notice.delay = delay;
      options_.on_retry(notice);
    }
    if (!clock_->SleepFor(delay)) return Status::Error(Status::Code::kCancelled, "interrupted while waiting to retry");
  }
}

}  // namespace sflow
