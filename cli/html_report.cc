#include "cli/html_report.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

namespace sflow {

namespace {

// Code points that are never shown as themselves: C0 and C1 controls (but tab and newline), and
// the bidi controls that can make one name read as another.
bool Hidden(uint32_t cp) {
  if (cp == '\t' || cp == '\n') return false;
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return true;
  return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

// The next code point of `s` at `*i` (advanced past it); U+FFFD for a byte that does not start
// a well-formed sequence (overlong, surrogate, past U+10FFFF, cut short), which is then skipped alone.
uint32_t NextCodePoint(const std::string& s, size_t* i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(*i);
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || *i + len > s.size()) return ++*i, 0xfffd;
  uint32_t cp = len == 1 ? c : c & (0x7f >> len);
  for (int k = 1; k < len; ++k) {
    if ((b(*i + k) & 0xc0) != 0x80) return ++*i, 0xfffd;
    cp = (cp << 6) | (b(*i + k) & 0x3f);
  }
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return ++*i, 0xfffd;
  *i += len;
  return cp;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xc0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xe0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    *out += static_cast<char>(0xf0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

std::string Time(int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (!localtime_r(&t, &tm)) return "-";
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string Took(int64_t from, int64_t to) {
  if (from <= 0 || to < from) return "-";
  const double s = static_cast<double>(to - from) / 1000;
  char buf[40];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1f s", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else std::snprintf(buf, sizeof buf, "%d h %02d min", static_cast<int>(s) / 3600, static_cast<int>(s) / 60 % 60);
  return buf;
}

std::string Bytes(int64_t n) {
  char buf[40];
  if (n < 1024) std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(n));
  else if (n < 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f KB", n / 1024.0);
  else std::snprintf(buf, sizeof buf, "%.1f MB", n / (1024.0 * 1024));
  return buf;
}

std::string Amount(const LedgerAmount& a) {
  std::string s;
  if (a.units > 0 || a.usd == 0) s = LedgerFigure(a.units) + " units";
  if (a.usd > 0) s += (s.empty() ? "" : ", ") + std::string("$") + LedgerFigure(a.usd);
  return s;
}

// A status as a badge; the class name is one of a fixed set, whatever the text.
std::string Badge(const std::string& status) {
  static const std::set<std::string> kKnown = {"planned", "submitting", "queued", "running", "waiting_for_user",
                                               "completed", "partial_failure", "failed", "cancelled", "unknown"};
  const std::string cls = kKnown.count(status) ? status : "other";
  return "<span class=\"badge s-" + cls + "\">" + HtmlText(status.empty() ? "?" : status) + "</span>";
}

constexpr const char* kStyle = R"css(
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #dde2ea; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header.page { padding: 20px 28px 12px; background: #fff; border-bottom: 1px solid var(--line); }
header.page h1 { margin: 0 0 4px; font-size: 22px; }
header.page p { margin: 0; color: var(--muted); }
main { padding: 8px 28px 40px; }
section.run { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 18px 0; }
section.run h2 { margin: 0 0 10px; font-size: 18px; }
h3 { font-size: 14px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 18px 0 8px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
code, pre { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
pre { background: var(--bg); padding: 8px; border-radius: 4px; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
.sheet { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 12px; }
figure.artifact { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px; background: #fff; }
figure.artifact img, figure.artifact video { display: block; width: 100%; height: 150px; object-fit: contain; background: #eef0f4; border-radius: 4px; }
figure.artifact audio { width: 100%; margin: 50px 0; }
figure.artifact figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; overflow-wrap: anywhere; }
.missing { height: 150px; display: flex; align-items: center; justify-content: center; color: var(--muted); background: #eef0f4; border-radius: 4px; text-align: center; padding: 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #e5e8ee; }
.s-completed { background: #dcf3e3; color: #17643a; }
.s-failed, .s-cancelled, .s-partial_failure, .s-unknown { background: #fbe1e1; color: #8a1f1f; }
.s-running, .s-queued, .s-submitting, .s-planned, .s-waiting_for_user { background: #fff2cc; color: #7a5600; }
table.grid { width: auto; }
table.grid td.cell, table.grid td.empty { width: 190px; text-align: center; }
table.grid td.cell img { width: 170px; height: 120px; object-fit: contain; background: #eef0f4; border-radius: 4px; display: block; margin: 0 auto 4px; }
table.grid td.cell .nothumb { width: 170px; height: 120px; margin: 0 auto 4px; display: flex; align-items: center; justify-content: center; background: #eef0f4; color: var(--muted); border-radius: 4px; }
table.grid th.key { white-space: nowrap; }
.err { color: #8a1f1f; }
footer { color: var(--muted); font-size: 12px; padding: 0 28px 24px; }
)css";

std::string Head(const ReportPage& page) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         // No script, no network: images as data: or files, media as files, styles inline.
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data: file: 'self'; "
         "media-src file: 'self'; style-src 'unsafe-inline'\">\n"
         "<meta name=\"referrer\" content=\"no-referrer\">\n"
         "<title>" + HtmlText(page.title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
}

std::string Foot(const ReportPage& page) {
  return "<footer>Made by " + HtmlText(page.generated_by) + " on " + HtmlText(Time(page.generated_ms)) +
         " from the state directory " + HtmlText(page.state_dir) +
         ". Times are local. The page needs no network: images are inside it, other files beside it.</footer>\n</body>\n</html>\n";
}

std::string Media(const ReportArtifact& a, const std::string& css_class = "") {
  const std::string alt = HtmlText(a.step_id + " #" + std::to_string(a.index));
  if (a.href.empty() || a.state != "done")
    return "<div class=\"missing" + css_class + "\">" + HtmlText(a.state == "done" ? "file not found" : "not downloaded (" + a.state + ")") +
           "</div>";
  switch (a.kind) {
    case MediaKind::kImage: return "<img src=\"" + HtmlText(a.href) + "\" alt=\"" + alt + "\">";
    case MediaKind::kVideo:
      return "<video controls muted preload=\"metadata\" src=\"" + HtmlText(a.href) + "\"" +
             (a.poster.empty() ? "" : " poster=\"" + HtmlText(a.poster) + "\"") + " title=\"" + alt + "\"></video>";
    case MediaKind::kAudio: return "<audio controls preload=\"metadata\" src=\"" + HtmlText(a.href) + "\" title=\"" + alt + "\"></audio>";
    case MediaKind::kUnknown: break;
  }
  return "<div class=\"missing\"><a href=\"" + HtmlText(a.href) + "\">" + HtmlText(a.file) + "</a></div>";
}

std::string EstimateText(const ReportStep& s) {
  if (s.quote_tokens) {
    std::string t = LedgerFigure(*s.quote_tokens) + " " + (s.token_type.empty() ? "tokens" : s.token_type);
    if (s.estimate_usd) t += " ($" + LedgerFigure(*s.estimate_usd) + ")";
    return t;
  }
  if (s.estimate_units) return LedgerFigure(*s.estimate_units) + " units";
  return "-";
}

std::string ChargedText(const ReportStep& s) {
  if (s.charge_tokens) return LedgerFigure(*s.charge_tokens) + " " + (s.token_type.empty() ? "tokens" : s.token_type);
  if (s.units) return LedgerFigure(*s.units) + " units";
  return "-";
}

std::string RunSection(const ReportRun& run) {
  std::string h = "<section class=\"run\" id=\"run-" + HtmlText(run.id) + "\">\n<h2>run " + HtmlText(run.id) + " " +
                  Badge(run.status) + "</h2>\n<dl class=\"facts\">\n";
  auto fact = [&](const std::string& k, const std::string& v_html) { h += "<dt>" + k + "</dt><dd>" + v_html + "</dd>\n"; };
  fact("plan", HtmlText(run.plan_name) + " <code>" + HtmlText(run.plan_path) + "</code>");
  if (!run.batch.empty()) fact("batch", HtmlText(run.batch) + ": <code>" + HtmlText(run.entry) + "</code>");
  if (!run.params.empty()) {
    std::string p;
    for (const auto& [k, v] : run.params) p += (p.empty() ? "" : ", ") + std::string("<code>") + HtmlText(k) + "=" + HtmlText(v) + "</code>";
    fact("params", p);
  }
  fact("plan digest", "<code>" + HtmlText(run.plan_digest) + "</code>");
  fact("execution", HtmlText(run.execution));
  if (!run.workflow_id.empty()) fact("workflow", "<code>" + HtmlText(run.workflow_id) + "</code>");
  if (!run.api_url.empty()) fact("endpoint", "<code>" + HtmlText(run.api_url) + "</code>");
  fact("stored", HtmlText(Time(run.created_ms)));
  fact("last change", HtmlText(Time(run.updated_ms)) + " (" + HtmlText(Took(run.created_ms, run.updated_ms)) + " after)");
  if (!run.waiting_reason.empty()) fact("waiting for", HtmlText(run.waiting_reason));
  if (run.estimate) fact("estimate", HtmlText(Amount(*run.estimate)));
  if (run.charged) fact("charged", HtmlText(Amount(*run.charged)));
  if (!run.error.empty()) fact("error", "<span class=\"err\">" + HtmlText(run.error) + "</span>");
  h += "</dl>\n<h3>Contact sheet</h3>\n";
  if (run.artifacts.empty()) h += "<p>No artifact.</p>\n";
  else h += "<div class=\"sheet\">\n";
  for (const ReportArtifact& a : run.artifacts) {
    h += "<figure class=\"artifact " + std::string(MediaKindName(a.kind)) + "\">" + Media(a) + "<figcaption>" +
         HtmlText(a.step_id + " #" + std::to_string(a.index)) + " &middot; " + HtmlText(a.file) +
         (a.size > 0 ? " &middot; " + Bytes(a.size) : "") + "</figcaption></figure>\n";
  }
  if (!run.artifacts.empty()) h += "</div>\n";
  h += "<h3>Steps</h3>\n<table class=\"steps\"><thead><tr><th>step</th><th>tool</th><th>status</th><th>started</th>"
       "<th class=\"num\">took</th><th class=\"num\">seed</th><th class=\"num\">estimate</th><th class=\"num\">charged</th>"
       "<th class=\"num\">files</th></tr></thead>\n<tbody>\n";
  for (const ReportStep& s : run.steps) {
    int files = 0;
    for (const ReportArtifact& a : run.artifacts) files += a.step_id == s.id;
    h += "<tr><td><code>" + HtmlText(s.id) + "</code>" +
         (s.remote_id.empty() ? "" : "<br><small><code>" + HtmlText(s.remote_id) + "</code></small>") + "</td><td>" +
         HtmlText(s.tool) + "</td><td>" + Badge(s.status) +
         (s.error.empty() ? "" : "<br><span class=\"err\">" + HtmlText(s.error) + "</span>") + "</td><td>" +
         HtmlText(Time(s.started_ms)) + "</td><td class=\"num\">" + HtmlText(Took(s.started_ms, s.ended_ms)) +
         "</td><td class=\"num\">" + (s.seed ? std::to_string(*s.seed) : "-") + "</td><td class=\"num\">" +
         HtmlText(EstimateText(s)) + "</td><td class=\"num\">" + HtmlText(ChargedText(s)) + "</td><td class=\"num\">" +
         std::to_string(files) + "</td></tr>\n";
  }
  h += "</tbody></table>\n";
  bool any = false;
  for (const ReportArtifact& a : run.artifacts) {
    if (a.provenance.empty()) continue;
    if (!any) h += "<h3>Provenance</h3>\n";
    any = true;
    h += "<details><summary><code>" + HtmlText(a.file) + "</code> sha256 <code>" + HtmlText(a.sha256) + "</code></summary><pre>" +
         HtmlText(a.provenance) + "</pre></details>\n";
  }
  return h + "</section>\n";
}

// A run's picture for a grid cell: its first image, else a video's poster frame.
std::string Thumb(const ReportRun& run) {
  for (const ReportArtifact& a : run.artifacts)
    if (a.kind == MediaKind::kImage && a.state == "done" && !a.href.empty())
      return "<img src=\"" + HtmlText(a.href) + "\" alt=\"" + HtmlText(run.id) + "\">";
  for (const ReportArtifact& a : run.artifacts)
    if (a.kind == MediaKind::kVideo && !a.poster.empty())
      return "<img src=\"" + HtmlText(a.poster) + "\" alt=\"" + HtmlText(run.id) + "\">";
  return "<div class=\"nothumb\">" + std::string(run.artifacts.empty() ? "no artifact" : "no picture") + "</div>";
}

std::string ParamValue(const ReportRun& run, const std::string& name) {
  for (const auto& [k, v] : run.params)
    if (k == name) return v;
  return "";
}

// The grid of one plan's runs (see the header).
std::string Grid(const std::string& plan, const std::vector<const ReportRun*>& runs) {
  std::vector<std::string> varying;  // in the order first seen
  for (const ReportRun* r : runs)
    for (const auto& [k, v] : r->params) {
      if (std::find(varying.begin(), varying.end(), k) != varying.end()) continue;
      for (const ReportRun* o : runs)
        if (ParamValue(*o, k) != v) {
          varying.push_back(k);
          break;
        }
    }
  auto row_key = [&](const ReportRun& r) { return varying.empty() ? std::string() : varying[0] + "=" + ParamValue(r, varying[0]); };
  auto col_key = [&](const ReportRun& r) {
    std::string c;
    for (size_t i = 1; i < varying.size(); ++i) c += (c.empty() ? "" : ", ") + varying[i] + "=" + ParamValue(r, varying[i]);
    return c;
  };
  std::vector<std::string> rows, cols;
  std::map<std::pair<std::string, std::string>, const ReportRun*> cell;
  for (const ReportRun* r : runs) {
    const std::string rk = row_key(*r), ck = col_key(*r);
    if (std::find(rows.begin(), rows.end(), rk) == rows.end()) rows.push_back(rk);
    if (std::find(cols.begin(), cols.end(), ck) == cols.end()) cols.push_back(ck);
    cell.emplace(std::make_pair(rk, ck), r);  // two runs of one cell (a batch file of odd shape): the first
  }
  std::string h = "<h3>" + HtmlText(plan) + "</h3>\n<table class=\"grid\"><thead><tr><th></th>";
  for (const std::string& c : cols) h += "<th class=\"key\">" + HtmlText(c.empty() ? "-" : c) + "</th>";
  h += "</tr></thead>\n<tbody>\n";
  for (const std::string& r : rows) {
    h += "<tr><th class=\"key\">" + HtmlText(r.empty() ? "-" : r) + "</th>";
    for (const std::string& c : cols) {
      auto it = cell.find({r, c});
      if (it == cell.end()) {
        h += "<td class=\"empty\">-</td>";
        continue;
      }
      const ReportRun& run = *it->second;
      h += "<td class=\"cell\"><a href=\"#run-" + HtmlText(run.id) + "\">" + Thumb(run) + "</a>" + Badge(run.status) +
           "<br><small><code>" + HtmlText(run.id) + "</code></small></td>";
    }
    h += "</tr>\n";
  }
  return h + "</tbody></table>\n";
}

}  // namespace

std::string HtmlText(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = NextCodePoint(text, &i);
    switch (cp) {
      case '&': out += "&amp;"; continue;
      case '<': out += "&lt;"; continue;
      case '>': out += "&gt;"; continue;
      case '"': out += "&quot;"; continue;
      case '\'': out += "&#39;"; continue;
      default: break;
    }
    AppendUtf8(Hidden(cp) ? 0xfffd : cp, &out);
  }
  return out;
}

std::string RenderRunReport(const ReportPage& page, const ReportRun& run) {
  return Head(page) + "<header class=\"page\"><h1>" + HtmlText(page.title) + "</h1><p>" + HtmlText(run.plan_name) + " &middot; " +
         std::to_string(run.steps.size()) + " steps &middot; " + std::to_string(run.artifacts.size()) +
         " artifacts</p></header>\n<main>\n" + RunSection(run) + "</main>\n" + Foot(page);
}

std::string RenderBatchReport(const ReportPage& page, const std::string& batch, const std::vector<ReportRun>& runs) {
  std::map<std::string, int> by_status;
  LedgerAmount estimate, charged;
  for (const ReportRun& r : runs) {
    ++by_status[r.status];
    if (r.charged) charged += *r.charged;
    else if (r.estimate) estimate += *r.estimate;
  }
  std::string summary;
  for (const auto& [status, n] : by_status) summary += (summary.empty() ? "" : ", ") + std::to_string(n) + " " + status;
  std::string h = Head(page) + "<header class=\"page\"><h1>" + HtmlText(page.title) + "</h1><p>" + std::to_string(runs.size()) +
                  " runs (the newest of each run of the batch file): " + HtmlText(summary.empty() ? "none yet" : summary) + " &middot; charged " + HtmlText(Amount(charged)) +
                  (estimate.units > 0 || estimate.usd > 0 ? ", still estimated " + HtmlText(Amount(estimate)) : "") +
                  "</p></header>\n<main>\n<section class=\"run\" id=\"matrix\">\n<h2>The matrix of " + HtmlText(batch) +
                  "</h2>\n";
  // One grid per plan, in the order the batch's runs come.
  std::vector<std::string> plans;
  std::map<std::string, std::vector<const ReportRun*>> of_plan;
  for (const ReportRun& r : runs) {
    const std::string plan = r.entry.substr(0, r.entry.find('['));
    const std::string key = plan.empty() ? r.plan_name : plan;
    if (!of_plan.count(key)) plans.push_back(key);
    of_plan[key].push_back(&r);
  }
  if (plans.empty()) h += "<p>No run of this batch is stored.</p>\n";
  for (const std::string& p : plans) h += Grid(p, of_plan[p]);
  h += "</section>\n";
  for (const ReportRun& r : runs) h += RunSection(r);
  return h + "</main>\n" + Foot(page);
}

}  // namespace sflow
