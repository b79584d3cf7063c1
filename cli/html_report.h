// The HTML report of a run or of a batch (`sogni-flow report`): one self-contained file that
// needs no network. What it shows is gathered by cli/cmd_report.cc into the structs below; this
// renders them, and does nothing else (no file, no store), so it is tested on its own.
//
// Contract of the page:
// - Every text that came from a plan, a param, the server or the disk is HTML-escaped, in
//   content and in attributes. The page has no script at all, and its Content-Security-Policy
//   allows none: images only as data: URIs or files, media only as files, styles only inline.
// - Media are referenced by `href`, which the caller made safe: a data: URI, or a relative URL
//   whose every path segment is percent-encoded. Nothing else is ever put in src or href.
// - A batch's runs of one plan form a grid: rows by the values of the first param that varies
//   among them, columns by the values of the others (each cell one run: `td.cell`), so that a
//   matrix reads as the matrix it is.
#ifndef SFLOW_CLI_HTML_REPORT_H_
#define SFLOW_CLI_HTML_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/ledger.h"
#include "engine/plan.h"

namespace sflow {

struct ReportArtifact {
  std::string step_id{};
  int64_t index = 0;
  MediaKind kind = MediaKind::kUnknown;
  std::string state{};       // planned, downloading, done, failed
  std::string href{};        // a data: URI or a percent-encoded relative URL; "" = no file
  std::string poster{};      // a video's first frame as a data: URI, when it could be read; ""
  std::string file{};        // the path shown
  int64_t size = 0;
  std::string sha256{};
  std::string provenance{};  // the provenance JSON, as beside the file
};

struct ReportStep {
  std::string id{}, tool{}, status{};
  std::optional<int64_t> seed{};
  std::optional<double> estimate_units{}, estimate_usd{};  // what the ledger expected
  std::optional<double> units{};                          // server: reported units
  std::optional<double> quote_tokens{}, charge_tokens{};  // local: quoted and charged tokens
  std::string token_type{};
  int64_t started_ms = 0, ended_ms = 0;                   // first and last event of the step; 0 = none
  std::string remote_id{};                                // local: the project id
  std::string error{};                                    // its error's message, if any
};

struct ReportRun {
  std::string id{}, plan_name{}, plan_path{}, plan_digest{}, status{}, execution{};
  std::string workflow_id{}, api_url{}, waiting_reason{}, error{};
  std::string batch{}, entry{};
  std::vector<std::pair<std::string, std::string>> params{};  // as shown: secret values hidden
  int64_t created_ms = 0, updated_ms = 0;
  std::optional<LedgerAmount> estimate{}, charged{};
  std::vector<ReportStep> steps{};
  std::vector<ReportArtifact> artifacts{};
};

struct ReportPage {
  std::string title{};         // "run r-..." or "batch nightly"
  std::string generated_by{};  // "sogni-flow 0.1.0"
  int64_t generated_ms = 0;
  std::string state_dir{};
};

// The page of one run.
std::string RenderRunReport(const ReportPage& page, const ReportRun& run);
// The page of a batch: its runs (the newest of each entry), a grid per plan, then each run.
std::string RenderBatchReport(const ReportPage& page, const std::string& batch, const std::vector<ReportRun>& runs);

// Text as HTML content or attribute value: & < > " ' escaped, control characters and invalid
// UTF-8 replaced (U+FFFD), bidi controls too (they can make a name read as another).
std::string HtmlText(const std::string& text);

}  // namespace sflow

#endif  // SFLOW_CLI_HTML_REPORT_H_
