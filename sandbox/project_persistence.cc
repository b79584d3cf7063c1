// The hub's part of the --data-dir snapshot (server.cc writes it beside the World's): every
// project with its jobs, the account ledgers and the id counters. A project keeps the jobRequest
// it was made from, so on restore its settings are read from it again (ReadJobRequest) and only
// its runtime state is stored: status, jobs, quote, hold, times.
#include "sandbox/project_request.h"
#include "sandbox/projects_impl.h"

namespace sflow {

using namespace hub;

namespace {

std::string S(const Value& v, const char* k) {
  const Value* x = v.Find(k);
  return x && x->is_string() ? x->as_string() : "";
}
double D(const Value& v, const char* k) { return Num(v.Find(k), 0); }
int64_t I(const Value& v, const char* k) { return static_cast<int64_t>(D(v, k)); }
bool B(const Value& v, const char* k) {
  const Value* x = v.Find(k);
  return x && x->is_bool() && x->as_bool();
}

}  // namespace

Value ProjectsHub::Impl::SnapshotLocked() const {
  Value list = Value::Array();
  for (const auto& [id, pp] : projects) {
    const ProjectRun& p = *pp;
    Value jobs = Value::Array();
    for (const JobRun& j : p.jobs)
      jobs.Append(Obj({{"imgID", Str(j.img_id)}, {"index", Int(j.index)}, {"status", Str(j.status)},
                       {"reason", Str(j.reason)}, {"step", Int(j.step)}, {"seed", Int(j.seed)},
                       {"fails", Value::Bool(j.fails)}, {"attempt", Int(j.attempt)}, {"artifact", Str(j.artifact_id)},
                       {"create", Int(j.create_ms)}, {"start", Int(j.start_ms)}, {"update", Int(j.update_ms)},
                       {"end", Int(j.end_ms)}}));
    list.Append(Obj({{"id", Str(p.id)}, {"sid", Int(p.sid)}, {"owner", Str(p.owner)}, {"appId", Str(p.app_id)},
                     {"key", Str(p.key)}, {"network", Str(p.network)}, {"request", p.request},
                     {"status", Str(p.status)}, {"reason", Str(p.reason)}, {"queueLeft", Int(p.queue_left)},
                     {"held", Value::Double(p.held)}, {"charged", Value::Double(p.charged)},
                     {"quote", Obj({{"jobSeconds", Value::Double(p.quote.job_seconds)},
                                    {"projectSeconds", Value::Double(p.quote.project_seconds)},
                                    {"usd", Value::Double(p.quote.usd)}, {"spark", Value::Double(p.quote.spark)},
                                    {"sogni", Value::Double(p.quote.sogni)},
                                    {"steps", Int(p.quote.calculated_steps)}})},
                     {"jobs", jobs}, {"create", Int(p.create_ms)}, {"update", Int(p.update_ms)},
                     {"end", Int(p.end_ms)}, {"claimed", Value::Bool(p.claimed)}}));
  }
  Value accounts = Value::Object();
  for (const auto& [owner, l] : ledgers)
    accounts.Set(owner, Obj({{"settledSpark", Value::Double(l.settled_spark)}, {"settledSogni", Value::Double(l.settled_sogni)},
                             {"heldSpark", Value::Double(l.held_spark)}, {"heldSogni", Value::Double(l.held_sogni)}}));
  Value refused = Value::Array();
  for (const std::string& id : restart_refused) refused.Append(Str(id));
  return Obj({{"uuidCounter", Int(static_cast<int64_t>(counter))}, {"nextSid", Int(next_sid)},
              {"projects", list}, {"accounts", accounts}, {"restartRefused", refused}});
}

void ProjectsHub::Impl::RestoreLocked(const Value& snap) {
  if (!snap.is_object()) return;
  counter = static_cast<uint64_t>(I(snap, "uuidCounter"));
  next_sid = std::max<int64_t>(next_sid, I(snap, "nextSid"));
  if (const Value* a = snap.Find("accounts"); a && a->is_object())
    for (const auto& m : a->members()) {
      Ledger& l = ledgers[m.key];
      l.settled_spark = D(m.value, "settledSpark");
      l.settled_sogni = D(m.value, "settledSogni");
      l.held_spark = D(m.value, "heldSpark");
      l.held_sogni = D(m.value, "heldSogni");
    }
  if (const Value* r = snap.Find("restartRefused"); r && r->is_array())
    for (const Value& id : r->items())
      if (id.is_string()) restart_refused.insert(id.as_string());
  const Value* list = snap.Find("projects");
  if (!list || !list->is_array()) return;
  for (const Value& x : list->items()) {
    const Value* request = x.Find("request");
    const Value* kfs = request ? request->Find("keyFrames") : nullptr;
    const Value* kf = kfs && kfs->is_array() && kfs->size() > 0 ? &kfs->items()[0] : nullptr;
    const Value* model_id = kf ? kf->Find("modelID") : nullptr;
    const ModelInfo* model = model_id && model_id->is_string() ? FindModel(model_id->as_string()) : nullptr;
    if (!kf || !kf->is_object() || !model || S(x, "id").empty()) continue;  // not one this sandbox made
    auto p = std::make_unique<ProjectRun>();
    p->id = S(x, "id");
    p->sid = I(x, "sid");
    p->owner = S(x, "owner");
    p->app_id = S(x, "appId");
    p->key = S(x, "key");
    p->request = *request;
    p->model = model;
    ReadJobRequest(*request, *kf, S(x, "network"), p.get());
    p->status = S(x, "status");
    p->reason = S(x, "reason");
    p->queue_left = static_cast<int>(I(x, "queueLeft"));
    p->held = D(x, "held");
    p->charged = D(x, "charged");
    if (const Value* q = x.Find("quote"); q && q->is_object()) {
      p->quote.job_seconds = D(*q, "jobSeconds");
      p->quote.project_seconds = D(*q, "projectSeconds");
      p->quote.usd = D(*q, "usd");
      p->quote.spark = D(*q, "spark");
      p->quote.sogni = D(*q, "sogni");
      p->quote.calculated_steps = static_cast<int>(I(*q, "steps"));
    }
    if (const Value* jobs = x.Find("jobs"); jobs && jobs->is_array())
      for (const Value& y : jobs->items()) {
        JobRun j;
        j.img_id = S(y, "imgID");
        j.index = static_cast<int>(I(y, "index"));
        j.status = S(y, "status");
        j.reason = S(y, "reason");
        j.step = static_cast<int>(I(y, "step"));
        j.seed = static_cast<uint32_t>(I(y, "seed"));
        j.fails = B(y, "fails");
        j.attempt = static_cast<int>(I(y, "attempt"));
        j.artifact_id = S(y, "artifact");
        j.create_ms = I(y, "create");
        j.start_ms = I(y, "start");
        j.update_ms = I(y, "update");
        j.end_ms = I(y, "end");
        p->jobs.push_back(std::move(j));
      }
    if (p->jobs.empty()) continue;
    p->create_ms = I(x, "create");
    p->update_ms = I(x, "update");
    p->end_ms = I(x, "end");
    p->claimed = B(x, "claimed");
    p->due = Clock::now();
    if (!p->finished()) active.insert(p->id);
    projects[p->id] = std::move(p);
  }
}

Value ProjectsHub::Snapshot() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->SnapshotLocked();
}

void ProjectsHub::Restore(const Value& snapshot) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->RestoreLocked(snapshot);
  }
  impl_->cv.notify_all();
}

Value ProjectsHub::Stats() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Value out = Value::Object();
  for (const auto& [id, p] : impl_->projects) {
    Value media = Value::Array();  // by jobIndex: the media object of its result ("" = none yet)
    for (const JobRun& j : p->jobs) media.Append(Str(j.artifact_id));
    out.Set(id, Obj({{"appId", Str(p->app_id)}, {"status", Str(p->status)}, {"media", media},
                     {"charged", Value::Double(p->charged)}}));
  }
  return out;
}

bool ProjectsHub::TakeDirty() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  bool was = impl_->dirty;
  impl_->dirty = false;
  return was;
}

}  // namespace sflow
