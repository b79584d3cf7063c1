#include "plans/batch_loader.h"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include "engine/params.h"
#include "engine/spell.h"
#include "plans/yaml_reader.h"

namespace sflow {

namespace {

bool BatchIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

bool BatchSlug(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

std::string BatchFolder(const std::string& file) {
  std::string folder = std::filesystem::path(file).parent_path().string();
  return folder.empty() ? "." : folder;
}

std::string Beside(const std::string& batch_file, const std::string& path) {
  if (!path.empty() && path.front() == '/') return path;
  const std::string folder = BatchFolder(batch_file);
  return folder == "." ? path : folder + "/" + path;
}

// Why `path` (a plan or a rows file the batch names) may not be read, or "": it must exist inside
// the batch file's folder, links resolved, as a plan's media must stay inside the plan's. A batch
// file may come from anyone (a pull request a CI job validates): it must not make sogni-flow read
// this machine's other files into params, prompts, names or messages.
std::string OutsideFolder(const std::string& batch_file, const std::string& path) {
  char* folder = ::realpath(BatchFolder(batch_file).c_str(), nullptr);
  char* target = ::realpath(path.c_str(), nullptr);
  std::string why;
  if (!folder || !target) {
    why = "it cannot be found";
  } else {
    const std::string f(folder), t(target);
    if (!(t.size() > f.size() && t.compare(0, f.size(), f) == 0 && (f == "/" || t[f.size()] == '/')))
      why = "it is outside the batch file's folder";
  }
  std::free(folder);
  std::free(target);
  return why;
}

std::string FileStem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

// A value as it appears in a run's name: `%,=[]` and control bytes as %XX (so that the name can
// be read back unambiguously and printed safely).
std::string NameValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '%' || c == ',' || c == '=' || c == '[' || c == ']') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// The text a scalar gives a param (as `-p NAME=TEXT` would): strings as they are, numbers and
// booleans as written in JSON; nullopt for anything else.
std::optional<std::string> ScalarText(const Value& v) {
  if (v.is_string()) return v.as_string();
  if (v.is_int() || v.kind() == Value::Kind::kDouble || v.is_bool()) return v.ToJson();
  return std::nullopt;
}

std::string Quoted(std::string_view s) { return "'" + TerminalText(s) + "'"; }

using Row = std::vector<std::pair<std::string, std::string>>;

// Reads an entry's rows: an inline list of mappings, or a file (CSV by its .csv ending, else a
// YAML list of mappings). Problems go into `diags` (with their file).
bool ReadRows(const std::string& batch_file, const Value& rows, DiagnosticList* diags, std::vector<Row>* out) {
  auto row_of = [&](const Value& m, DiagnosticList* d) -> std::optional<Row> {
    if (!m.is_object()) {
      d->Error(m.loc(), "type", "a row must be a mapping of params, not " + std::string(Value::KindPhrase(m.kind())));
      return std::nullopt;
    }
    Row row;
    bool ok = true;
    for (const Value::Member& mem : m.members()) {
      if (!BatchIdentifier(mem.key)) {
        d->Error(mem.key_loc, "bad-name", "param name " + Quoted(mem.key) + " is not an identifier");
        ok = false;
        continue;
      }
      std::optional<std::string> text = ScalarText(mem.value);
      if (!text) {
        d->Error(mem.value.loc(), "type", "param " + Quoted(mem.key) + " must be a scalar, not " +
                                              Value::KindPhrase(mem.value.kind()));
        ok = false;
        continue;
      }
      row.emplace_back(mem.key, *text);
    }
    if (!ok) return std::nullopt;
    return row;
  };
  if (rows.is_array()) {
    bool ok = true;
    for (const Value& m : rows.items()) {
      std::optional<Row> r = row_of(m, diags);
      if (r) out->push_back(std::move(*r));
      else ok = false;
    }
    return ok;
  }
  if (!rows.is_string() || rows.as_string().empty()) {
    diags->Error(rows.loc(), "type", "'rows' must be a file name or a list of mappings, not " +
                                         std::string(Value::KindPhrase(rows.kind())));
    return false;
  }
  const std::string file = Beside(batch_file, rows.as_string());
  if (std::string why = OutsideFolder(batch_file, file); !why.empty()) {
    diags->Error(rows.loc(), "file", "rows file " + Quoted(rows.as_string()) + " refused: " + why,
                 "a batch file names plans and rows files in its own folder or below it");
    return false;
  }
  DiagnosticList local(file);
  bool ok = true;
  const bool csv = file.size() > 4 && file.compare(file.size() - 4, 4, ".csv") == 0;
  if (csv) {
    Result<std::string> text = ReadLimitedFile(file, YamlLimits(), &local);
    if (!text.ok()) {
      ok = false;
    } else {
      auto table = ParseCsv(*text, &local);
      if (!table.ok()) {
        ok = false;
      } else if (!table->empty()) {
        const auto& header = (*table)[0];
        for (size_t r = 1; r < table->size(); ++r) {
          Row row;
          for (size_t c = 0; c < header.size(); ++c) row.emplace_back(header[c].first, (*table)[r][c].first);
          out->push_back(std::move(row));
        }
      }
    }
  } else {
    Result<Value> v = LoadYamlFile(file, YamlLimits(), &local);
    if (!v.ok()) {
      ok = false;
    } else if (!v->is_array()) {
      local.Error(v->loc(), "type", "a rows file holds a list of mappings, not " + std::string(Value::KindPhrase(v->kind())));
      ok = false;
    } else {
      for (const Value& m : v->items()) {
        std::optional<Row> r = row_of(m, &local);
        if (r) out->push_back(std::move(*r));
        else ok = false;
      }
    }
  }
  if (!ok && !local.has_errors()) local.Error({}, "file", "the rows file could not be read");
  diags->Append(local);
  return ok;
}

}  // namespace

size_t Batch::run_count() const {
  size_t n = 0;
  for (const BatchEntry& e : entries) n += e.runs.size();
  return n;
}

Result<std::vector<std::vector<std::pair<std::string, SourceLoc>>>> ParseCsv(std::string_view text, DiagnosticList* diags) {
  std::vector<std::vector<std::pair<std::string, SourceLoc>>> rows;
  if (size_t bad = FindInvalidUtf8(text); bad != std::string_view::npos) {
    diags->Error({}, "encoding", "invalid UTF-8 or a NUL byte at byte " + std::to_string(bad));
    return Status::InvalidPlan("invalid CSV");
  }
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a BOM
  size_t i = 0;
  int line = 1, col = 1;
  auto advance = [&](char c) {
    ++i;
    if (c == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  };
  std::vector<std::pair<std::string, SourceLoc>> row;
  bool row_has_content = false;
  while (i <= text.size()) {
    // One field, from here.
    const SourceLoc at{line, col};
    std::string field;
    if (i < text.size() && text[i] == '"') {
      advance('"');
      bool closed = false;
      while (i < text.size()) {
        char c = text[i];
        if (c == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            advance('"');
            advance('"');
            continue;
          }
          advance('"');
          closed = true;
          break;
        }
        field += c;
        advance(c);
      }
      if (!closed) {
        diags->Error(at, "csv", "a quoted field is not closed", "close it with \"; a quote inside is written \"\"");
        return Status::InvalidPlan("invalid CSV");
      }
      if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        diags->Error({line, col}, "csv", "characters after a closing quote", "a quote inside a field is written \"\"");
        return Status::InvalidPlan("invalid CSV");
      }
      row_has_content = true;
    } else {
      while (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        if (text[i] == '"') {
          diags->Error({line, col}, "csv", "a quote inside an unquoted field", "quote the whole field: \"a \"\"b\"\"\"");
          return Status::InvalidPlan("invalid CSV");
        }
        field += text[i];
        advance(text[i]);
      }
      if (!field.empty()) row_has_content = true;
    }
    row.emplace_back(std::move(field), at);
    if (i < text.size() && text[i] == ',') {
      advance(',');
      row_has_content = true;
      continue;
    }
    // The end of a line (or of the text).
    if (i < text.size() && text[i] == '\r') {
      if (i + 1 >= text.size() || text[i + 1] != '\n') {
        diags->Error({line, col}, "csv", "a carriage return not followed by a line feed");
        return Status::InvalidPlan("invalid CSV");
      }
      advance('\r');
    }
    if (row_has_content) rows.push_back(std::move(row));  // an empty line is no row
    row.clear();
    row_has_content = false;
    if (i >= text.size()) break;
    advance('\n');
    if (rows.size() > kMaxBatchRuns + 1) {
      diags->Error({line, 1}, "csv", "more than " + std::to_string(kMaxBatchRuns) + " rows");
      return Status::InvalidPlan("invalid CSV");
    }
  }
  if (rows.empty()) {
    diags->Error({1, 1}, "csv", "no header line", "the first line names the params, e.g. product,size");
    return Status::InvalidPlan("invalid CSV");
  }
  bool ok = true;
  std::map<std::string, int> seen;
  for (const auto& [name, loc] : rows[0]) {
    if (!BatchIdentifier(name)) {
      diags->Error(loc, "bad-name", "column " + Quoted(name) + " is not a param name (an identifier)");
      ok = false;
    } else if (seen.count(name)) {
      diags->Error(loc, "duplicate-key", "column " + Quoted(name) + " appears twice (first at line 1)");
      ok = false;
    }
    seen[name] = loc.line;
  }
  for (size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() != rows[0].size()) {
      diags->Error(rows[r][0].second, "csv",
                   "this row has " + std::to_string(rows[r].size()) + " fields, the header " + std::to_string(rows[0].size()));
      ok = false;
    }
  }
  if (!ok) return Status::InvalidPlan("invalid CSV");
  return rows;
}

bool LooksLikeBatchFile(const std::string& path) {
  DiagnosticList ignored(path);
  Result<std::string> text = ReadLimitedFile(path, YamlLimits(), &ignored);
  if (!text.ok()) return false;
  // A plan is not parsed twice (validate of a 1 MiB plan would pay for it): only a file with a
  // line that starts `kind:` and names batch is parsed here, to be sure.
  bool candidate = false;
  for (size_t pos = 0; pos < text->size() && !candidate;) {
    size_t end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    std::string_view line(text->data() + pos, end - pos);
    candidate = line.rfind("kind:", 0) == 0 && line.find("batch") != std::string_view::npos;
    pos = end + 1;
  }
  if (!candidate) return false;
  Result<Value> v = ParseYaml(*text, YamlLimits(), &ignored);
  return v.ok() && v->is_object() && v->StringAt("kind") == "batch";
}

Result<Batch> LoadBatch(const std::string& path, DiagnosticList* diags) {
  DiagnosticList local(path);
  Result<std::string> text = ReadLimitedFile(path, YamlLimits(), &local);
  if (!text.ok()) {
    diags->Append(local);
    return Status::InvalidPlan(path + " is invalid");
  }
  return LoadBatchFromText(path, *text, diags);
}

namespace {

// budget: {batch|day|month: {max_units: N, max_usd: N}}: the ledger's ceilings (engine/ledger.h).
void ReadBudget(const Value& budget, const std::string& path, DiagnosticList* diags, std::vector<LedgerCeiling>* out) {
  if (!budget.is_object()) {
    diags->Error(budget.loc(), "type", "'budget' must be a mapping of batch, day and month",
                 "e.g. budget: {day: {max_units: 5000}, month: {max_units: 60000}}");
    return;
  }
  static const std::vector<std::string> kScopes = {"batch", "day", "month"};
  static const std::vector<std::string> kMeasures = {"max_units", "max_usd"};
  for (const Value::Member& scope : budget.members()) {
    auto which = std::find(kScopes.begin(), kScopes.end(), scope.key);
    if (which == kScopes.end()) {
      std::string hint = DidYouMean(scope.key, kScopes);
      diags->Error(scope.key_loc, "unknown-key", "unknown key " + Quoted(scope.key) + " in budget",
                   hint.empty() ? "budget has batch (all its runs), day and month (every run of the state directory)"
                                : hint);
      continue;
    }
    if (!scope.value.is_object() || scope.value.members().empty()) {
      diags->Error(scope.value.loc(), "type", "budget." + scope.key + " must be a mapping with max_units and/or max_usd");
      continue;
    }
    LedgerCeiling c{.scope = which == kScopes.begin()       ? LedgerScope::kBatch
                             : which == kScopes.begin() + 1 ? LedgerScope::kDay
                                                            : LedgerScope::kMonth,
                    .origin = "budget." + scope.key + " of " + path};
    for (const Value::Member& m : scope.value.members()) {
      if (std::find(kMeasures.begin(), kMeasures.end(), m.key) == kMeasures.end()) {
        std::string hint = DidYouMean(m.key, kMeasures);
        diags->Error(m.key_loc, "unknown-key", "unknown key " + Quoted(m.key) + " in budget." + scope.key,
                     hint.empty() ? "max_units (capacity units) or max_usd (US dollars)" : hint);
        continue;
      }
      if (!m.value.is_number() || !(m.value.as_number() >= 0) || m.value.as_number() > 1e15) {
        diags->Error(m.value.loc(), "bad-value",
                     "budget." + scope.key + "." + m.key + " must be a number from 0 to 1e15, not " + m.value.Brief());
        continue;
      }
      (m.key == "max_units" ? c.max_units : c.max_usd) = m.value.as_number();
    }
    if (c.max_units || c.max_usd) out->push_back(std::move(c));
  }
}

}  // namespace

Result<Batch> LoadBatchFromText(const std::string& path, std::string_view text, DiagnosticList* diags) {
  DiagnosticList local(path);
  Batch batch;
  batch.path = path;
  auto fail = [&]() -> Result<Batch> {
    diags->Append(local);
    return Status::InvalidPlan(path + " is invalid");
  };
  Result<Value> root = ParseYaml(text, YamlLimits(), &local);
  if (!root.ok()) return fail();
  if (!root->is_object()) {
    local.Error(root->loc(), "type", "a batch file is a mapping, not " + std::string(Value::KindPhrase(root->kind())));
    return fail();
  }
  static const std::vector<std::string> kTop = {"version", "kind", "name", "description", "concurrency", "budget",
                                                "entries"};
  for (const Value::Member& m : root->members()) {
    if (std::find(kTop.begin(), kTop.end(), m.key) == kTop.end()) {
      std::string hint = DidYouMean(m.key, kTop);
      local.Error(m.key_loc, "unknown-key", "unknown key " + Quoted(m.key) + " in batch",
                  hint.empty() ? "a batch has version, kind, name, description, concurrency, budget and entries" : hint);
    }
  }
  const Value* version = root->Find("version");
  if (!version) local.Error(root->loc(), "missing-key", "missing 'version' in batch", "add 'version: 1'");
  else if (!version->is_int() || version->as_int() != 1) local.Error(version->loc(), "bad-value", "'version' must be 1");
  const Value* kind = root->Find("kind");
  if (!kind || !kind->is_string() || kind->as_string() != "batch")
    local.Error(kind ? kind->loc() : root->loc(), "bad-value", "a batch file says 'kind: batch'");
  const Value* name = root->Find("name");
  if (!name) {
    local.Error(root->loc(), "missing-key", "missing 'name' in batch", "e.g. name: nightly-products");
  } else if (!name->is_string() || !BatchSlug(name->as_string())) {
    local.Error(name->loc(), "bad-name", "batch name " + name->Brief() + " is not a slug",
                "use letters, digits, '.', '_' and '-' (at most 128)");
  } else {
    batch.name = name->as_string();
  }
  if (const Value* d = root->Find("description"); d && !d->is_string())
    local.Error(d->loc(), "type", "'description' must be a string");
  if (const Value* c = root->Find("concurrency")) {
    if (!c->is_int() || c->as_int() < 1 || c->as_int() > 10000)
      local.Error(c->loc(), "bad-value", "'concurrency' must be a whole number from 1 to 10000, not " + c->Brief());
    else
      batch.concurrency = static_cast<int>(c->as_int());
  }
  if (const Value* b = root->Find("budget")) ReadBudget(*b, path, &local, &batch.ceilings);
  const Value* entries = root->Find("entries");
  if (!entries) {
    local.Error(root->loc(), "missing-key", "missing 'entries' in batch", "a list of {plan, params, matrix, rows}");
    return fail();
  }
  if (!entries->is_array() || entries->items().empty()) {
    local.Error(entries->loc(), "type", "'entries' must be a non-empty list");
    return fail();
  }
  static const std::vector<std::string> kEntryKeys = {"plan", "params", "matrix", "rows"};
  std::map<std::string, SourceLoc> names;  // every run's name, where it was first made
  size_t total = 0;
  for (const Value& e : entries->items()) {
    if (!e.is_object()) {
      local.Error(e.loc(), "type", "an entry must be a mapping with 'plan', not " + std::string(Value::KindPhrase(e.kind())));
      continue;
    }
    bool ok = true;
    for (const Value::Member& m : e.members()) {
      if (std::find(kEntryKeys.begin(), kEntryKeys.end(), m.key) == kEntryKeys.end()) {
        std::string hint = DidYouMean(m.key, kEntryKeys);
        local.Error(m.key_loc, "unknown-key", "unknown key " + Quoted(m.key) + " in entry",
                    hint.empty() ? "an entry has plan, params, matrix and rows" : hint);
        ok = false;
      }
    }
    BatchEntry entry;
    const Value* plan = e.Find("plan");
    if (!plan || !plan->is_string() || plan->as_string().empty()) {
      local.Error(plan ? plan->loc() : e.loc(), plan ? "type" : "missing-key", "an entry needs 'plan': a plan file's path");
      continue;
    }
    entry.plan_path = Beside(path, plan->as_string());
    entry.loc = plan->loc();
    struct stat st;
    if (::stat(entry.plan_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      local.Error(plan->loc(), "file", "no plan file " + Quoted(entry.plan_path),
                  "a plan's path is relative to the batch file's folder");
      ok = false;
    } else if (std::string why = OutsideFolder(path, entry.plan_path); !why.empty()) {
      local.Error(plan->loc(), "file", "plan " + Quoted(plan->as_string()) + " refused: " + why,
                  "a batch file names plans and rows files in its own folder or below it");
      ok = false;
    } else if (char* real = ::realpath(entry.plan_path.c_str(), nullptr)) {
      entry.plan_path = real;  // stored with its runs: which file a batch's run was of, from any folder
      std::free(real);
    }
    std::map<std::string, SourceLoc> set_here;  // a param set twice in one entry is an error
    auto claim = [&](const std::string& key, SourceLoc loc) {
      if (auto it = set_here.find(key); it != set_here.end()) {
        local.Error(loc, "duplicate-key", "param " + Quoted(key) + " is set twice in this entry (first at line " +
                                              std::to_string(it->second.line) + ")");
        ok = false;
        return false;
      }
      set_here[key] = loc;
      return true;
    };
    Row fixed;
    if (const Value* p = e.Find("params")) {
      if (!p->is_object()) {
        local.Error(p->loc(), "type", "'params' must be a mapping of param values");
        ok = false;
      } else {
        for (const Value::Member& m : p->members()) {
          std::optional<std::string> text = ScalarText(m.value);
          if (!BatchIdentifier(m.key)) {
            local.Error(m.key_loc, "bad-name", "param name " + Quoted(m.key) + " is not an identifier");
            ok = false;
          } else if (!text) {
            local.Error(m.value.loc(), "type", "param " + Quoted(m.key) + " must be a scalar");
            ok = false;
          } else if (claim(m.key, m.key_loc)) {
            fixed.emplace_back(m.key, *text);
          }
        }
      }
    }
    std::vector<std::pair<std::string, std::vector<std::string>>> matrix;
    size_t combinations = 1;
    if (const Value* mx = e.Find("matrix")) {
      if (!mx->is_object() || mx->members().empty()) {
        local.Error(mx->loc(), "type", "'matrix' must be a mapping of param names to lists of values");
        ok = false;
      } else {
        for (const Value::Member& m : mx->members()) {
          if (!BatchIdentifier(m.key)) {
            local.Error(m.key_loc, "bad-name", "param name " + Quoted(m.key) + " is not an identifier");
            ok = false;
            continue;
          }
          if (!m.value.is_array() || m.value.items().empty()) {
            local.Error(m.value.loc(), "type", "matrix param " + Quoted(m.key) + " must be a non-empty list of values");
            ok = false;
            continue;
          }
          std::vector<std::string> values;
          for (const Value& v : m.value.items()) {
            std::optional<std::string> text = ScalarText(v);
            if (!text) {
              local.Error(v.loc(), "type", "a matrix value must be a scalar, not " + std::string(Value::KindPhrase(v.kind())));
              ok = false;
            } else {
              values.push_back(*text);
            }
          }
          if (!claim(m.key, m.key_loc) || values.empty()) continue;  // (no value: reported above)
          if (combinations > kMaxBatchRuns / values.size() + 1) combinations = kMaxBatchRuns + 1;
          else combinations *= values.size();
          matrix.emplace_back(m.key, std::move(values));
        }
      }
    }
    std::vector<Row> rows;
    const Value* rows_value = e.Find("rows");
    if (rows_value) {
      if (!ReadRows(path, *rows_value, &local, &rows)) ok = false;
      if (ok && rows.empty()) {
        local.Error(rows_value->loc(), "bad-value", "'rows' holds no row");
        ok = false;
      }
      for (const Row& r : rows)
        for (const auto& [k, v] : r)
          if (set_here.count(k)) {
            local.Error(rows_value->loc(), "duplicate-key", "param " + Quoted(k) + " is set by 'rows' and above it");
            ok = false;
          }
    }
    if (!ok) continue;
    const size_t row_count = rows.empty() ? 1 : rows.size();
    if (combinations > kMaxBatchRuns || row_count * combinations > kMaxBatchRuns - std::min(total, kMaxBatchRuns)) {
      local.Error(entry.loc, "bad-value", "the batch makes more than " + std::to_string(kMaxBatchRuns) + " runs",
                  "split it into several batch files");
      return fail();
    }
    total += row_count * combinations;
    const std::string stem = NameValue(FileStem(entry.plan_path));
    for (size_t r = 0; r < row_count; ++r) {
      std::vector<size_t> pick(matrix.size(), 0);
      for (size_t c = 0; c < combinations; ++c) {
        BatchRun run;
        run.params = fixed;
        for (size_t k = 0; k < matrix.size(); ++k) run.params.emplace_back(matrix[k].first, matrix[k].second[pick[k]]);
        if (!rows.empty())
          for (const auto& [k, v] : rows[r]) run.params.emplace_back(k, v);
        // The name is the run's identity: its plan and every param it gets, by name, so that the
        // same work has one name however the file says it (matrix, rows or params, in any order).
        std::vector<std::pair<std::string, std::string>> sorted = run.params;
        std::sort(sorted.begin(), sorted.end());
        std::string all;
        for (const auto& [k, v] : sorted) {
          // A param whose name says it is secret is never shown (names are printed, stored and
          // land in CI logs): its value is left out, so two runs that differ only there clash.
          all += (all.empty() ? "" : ",") + k + "=" + (NameSaysSecret(k) ? std::string("(secret)") : NameValue(v));
          if (all.size() > 4096) break;  // (too long already: refused below)
        }
        run.name = all.empty() ? stem : stem + "[" + all + "]";
        run.loc = rows_value && rows_value->is_array() ? rows_value->items()[r].loc() : entry.loc;
        if (run.name.size() > 4096) {
          local.Error(run.loc, "bad-value", "a run's name (its plan and params, written out) is longer than 4096 bytes",
                      "shorten the param values");
          return fail();
        }
        if (auto [it, inserted] = names.emplace(run.name, run.loc); !inserted) {
          local.Error(run.loc, "duplicate-key", "run " + Quoted(run.name) + " is made twice (first at line " +
                                                    std::to_string(it->second.line) + ")",
                      "each run of a batch needs its own plan or params");
          return fail();
        }
        entry.runs.push_back(std::move(run));
        for (size_t k = matrix.size(); k-- > 0;) {  // the odometer: the last key turns fastest
          if (++pick[k] < matrix[k].second.size()) break;
          pick[k] = 0;
        }
      }
    }
    batch.entries.push_back(std::move(entry));
  }
  if (local.has_errors()) return fail();
  diags->Append(local);
  return batch;
}

}  // namespace sflow
