#!/usr/bin/env bash
# Regressions of the run driver through the real binary against `sogni-flow sandbox` on
# 127.0.0.1, one block per defect an outside review found (each block failed before its fix):
#   endpoint   a refused --api-url or an unreachable API stores nothing; a stored run goes back to
#              the endpoint it was started against, whatever SOGNI_API_BASE_URL says later
#   key        a key with a line break (variable or two-line file) or a refused key: exit 3,
#              nothing stored, the key never printed
#   out        a second run into the same --out cannot save its files: exit 1, and says why
#   gone       a workflow the server no longer knows ends failed (exit 1), not "queued" forever
#   sandbox    --sandbox refuses --detach and --api-url
#   cap        `run -j 3` under a cap of 1 active workflow waits for slots and completes
#   reseed     a reseeded step's provenance names the arguments it ran with
#   json       a run killed before its first batch committed printed no event; resume prints
#              each once
#   step       a failed step's error is printed by run
#   url        an --api-url with a path that is not the API's, or a query: exit 2, nothing stored
#   start401   a start refused with 401 after the endpoint check: the run ends failed
#   retry      a long stream Retry-After (and one of 309 digits) under -j 2: the log is read meanwhile
#   approve    a cost confirmation killed after its answer and sent again (the stored intent)
#   partial    a partial_failure run: exit 1, the failed step said, the other files saved
#   sandbox    a --sandbox run cut short gives no resume hint; resume and artifacts say why
#   quiet      a stream that goes silent has what it delivered committed meanwhile
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run_checks.sh"
bin_dir=$(realpath "$1")
test_setup "$bin_dir/sogni-flow"
crash_bin=$bin_dir/sogni-flow-crashtest
require curl jq sqlite3
key=k-regressions-0001
export SOGNI_API_KEY=$key
start_sandbox "$key" --step-ms 5
five_step_plan > plan.yaml
stats() { curl -sf "$url/_sandbox/stats"; }
created() { stats | jq .workflowsCreated; }
nothing_stored() {  # STATE_DIR: no run in it (or no state dir at all)
  [ ! -e "$1/state.db" ] && return 0
  [ -z "$("$bin" status --state-dir "$1" --json 2>/dev/null | jq -r '.run // empty')" ]
}
expect_exit() {  # WANT NAME CMD...: runs CMD, stderr in NAME.err
  local want=$1 name=$2 rc
  shift 2
  "$@" > "$name.out" 2> "$name.err"; rc=$?
  [ "$rc" -eq "$want" ] || fail "$name: exit $rc, expected $want"
}

# --- endpoint: refused locally, nothing stored, nothing sent
before=$(created)
expect_exit 7 file-url "$bin" run plan.yaml --api-url file:///etc/passwd --state-dir s-file
grep -q -- "--api-url" file-url.err || fail "file-url: the message does not name --api-url"
expect_exit 7 not-url "$bin" run plan.yaml --api-url 'not a url' --state-dir s-noturl
expect_exit 7 private "$bin" run plan.yaml --api-url http://10.0.0.1:9/ --state-dir s-private
SOGNI_API_BASE_URL=http://192.168.1.1 expect_exit 7 env-private "$bin" run plan.yaml --state-dir s-env
grep -q SOGNI_API_BASE_URL env-private.err || fail "env-private: the message does not name SOGNI_API_BASE_URL"
# A port nobody listens on: unavailable after the retries, exit 4, still nothing stored.
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect_exit 4 refused "$bin" run plan.yaml --api-url "http://127.0.0.1:$closed" --state-dir s-refused
grep -q "retrying, next try in" refused.err || fail "refused: no retry notice while the API was unavailable"
grep -q "nothing was started" refused.err || fail "refused: it does not say that nothing was started"
for s in s-file s-noturl s-private s-env s-refused; do nothing_stored "$s" || fail "$s: a run was stored"; done
[ "$(created)" -eq "$before" ] || fail "a refused endpoint created a workflow"
echo "ok   endpoint: file://, not a URL, private http, env private: exit 7; closed port: exit 4; nothing stored"

# A public-looking name that resolves to this machine (the host's own name, as /etc/hosts maps it)
# is refused when the connection is made, not reached: only the sandbox's exact names may.
own=$(hostname)
case "$(getent hosts "$own" | awk '{print $1; exit}')" in
  127.*|::1)
    expect_exit 7 rebinding "$bin" run plan.yaml --api-url "https://$own:1/" --state-dir s-rebind
    grep -q "resolves to the internal address" rebinding.err || fail "rebinding: $(head -n 2 rebinding.err)"
    nothing_stored s-rebind || fail "rebinding: a run was stored"
    echo "ok   endpoint: https://$own (resolving to loopback) is refused at connect time" ;;
  *) echo "note: $own does not resolve to loopback here; HttpUrlTest.ResolvedAddressesAreCheckedAtConnectTime covers the rule" ;;
esac

# --- endpoint: a stored run goes back to its own endpoint
expect_exit 0 detach "$bin" run plan.yaml --api-url "$url" --detach --state-dir s-own
run=$(run_id_in s-own)
[ -n "$run" ] || fail "detach: no run stored"
SOGNI_API_BASE_URL=http://127.0.0.1:$closed expect_exit 0 resume-own "$bin" resume --all --state-dir s-own
[ "$("$bin" status "$run" --state-dir s-own --json | jq -r .status)" = completed ] || fail "resume-own: not completed"
grep -q "not the endpoint" resume-own.err && fail "resume-own: it went to another endpoint"
# --api-url names another endpoint, and it says so.
expect_exit 0 detach2 "$bin" run plan.yaml --api-url "$url" --detach --state-dir s-other
run2=$(run_id_in s-other)
expect_exit 0 resume-other "$bin" resume "$run2" --api-url "$url/" --state-dir s-other
echo "ok   endpoint: resume --all follows the run's own endpoint despite SOGNI_API_BASE_URL"

# --- key: line breaks, refused key; never printed
before=$(created)
SOGNI_API_KEY=$'k-regressions\n-0001' expect_exit 3 key-newline "$bin" run plan.yaml --api-url "$url" --state-dir s-key1
grep -q "line break" key-newline.err || fail "key-newline: the message does not say what is wrong"
printf 'k-regressions-0001\nsecond-line-secret\n' > key.txt; chmod 600 key.txt
env -u SOGNI_API_KEY "$bin" run plan.yaml --api-url "$url" --api-key-file key.txt --state-dir s-key2 > key-file.out 2> key-file.err
[ $? -eq 3 ] || fail "key-file: a two-line key file was accepted"
grep -q "second-line-secret" key-file.err && fail "key-file: a line of the key file was printed"
SOGNI_API_KEY=k-wrong-key-0002 expect_exit 3 key-refused "$bin" run plan.yaml --api-url "$url" --state-dir s-key3
grep -q "k-wrong-key-0002" key-refused.err && fail "key-refused: the key was printed"
for s in s-key1 s-key2 s-key3; do nothing_stored "$s" || fail "$s: a run was stored"; done
[ "$(created)" -eq "$before" ] || fail "a refused key created a workflow"
expect_exit 0 resume-nothing "$bin" resume --all --state-dir s-key3
echo "ok   key: line breaks and a refused key exit 3 before anything is stored; never printed"

# --- out: a second run into the same --out cannot save its files. Its image has the same seed,
# so the same bytes: only the provenance file (which names the first run) is in the way.
cat > seeded.yaml <<'PLAN'
version: 1
name: seeded
steps:
  - {id: keyframe, toolName: generate_image, arguments: {prompt: a brass lamp on a desk, seed: 11}}
PLAN
expect_exit 0 out0 "$bin" run seeded.yaml --api-url "$url" --state-dir s-seeded --out seeded-out
expect_exit 1 out00 "$bin" run seeded.yaml --api-url "$url" --state-dir s-seeded2 --out seeded-out
grep -q "exists with other content" out00.err || fail "out00: it does not say why the file was not saved"
[ "$(jq -r .run seeded-out/keyframe/0.png.provenance.json)" = "$(run_id_in s-seeded)" ] ||
  fail "out00: the provenance file no longer names the run that made the file"
# Other bytes in the way (steps without a fixed seed): the same.
expect_exit 0 out1 "$bin" run plan.yaml --api-url "$url" --state-dir s-out --out shared-out
first=$(run_id_in s-out)
expect_exit 1 out2 "$bin" run plan.yaml --api-url "$url" --state-dir s-out2 --out shared-out
grep -q "exists with other content" out2.err || fail "out2: it does not say why the files were not saved"
second=$(run_id_in s-out2)
for p in shared-out/*/*.provenance.json; do
  [ "$(jq -r .run "$p")" = "$first" ] || fail "out2: $p was overwritten"
done
"$bin" artifacts "$second" --state-dir s-out2 --no-download --json > arts2.json 2> arts2.err
[ $? -ne 0 ] || fail "artifacts $second exits 0 with its files not saved"
[ "$(jq -r .state arts2.json | grep -c -v '^done$')" -gt 0 ] || fail "artifacts $second calls every file done"
echo "ok   out: the second run into one --out exits 1, says why, leaves the first run's files"

# --- reseed: the provenance of a reseeded step names other arguments; a kept step the same
"$bin" reseed "$first" --step keyframe=42 --state-dir s-out --out reseeded > reseed.out 2> reseed.err ||
  fail "reseed: exit $?: $(tail -n 3 reseed.err)"
digest() { jq -r .argumentsDigest "$1"/"$2"/0.*.provenance.json; }
[ "$(digest reseeded keyframe)" != "$(digest shared-out keyframe)" ] || fail "reseed: keyframe's argumentsDigest did not change"
[ "$(digest reseeded bed)" = "$(digest shared-out bed)" ] || fail "reseed: bed's argumentsDigest changed"
echo "ok   reseed: the reseeded step's argumentsDigest changed, a kept step's did not"

# --- gone: a workflow the server forgets after it started
expect_exit 0 gone-start "$bin" run plan.yaml --api-url "$url" --detach --state-dir s-gone
gone=$(run_id_in s-gone)
wid=$("$bin" status "$gone" --state-dir s-gone --json | jq -r .workflowId)
curl -sf -X POST "$url/_sandbox/forget/$wid" > /dev/null || fail "gone: the sandbox did not forget $wid"
expect_exit 1 gone-resume "$bin" resume "$gone" --state-dir s-gone
grep -q "no longer knows workflow" gone-resume.err || fail "gone: the message does not say what happened"
[ "$("$bin" status "$gone" --state-dir s-gone --json | jq -r .status)" = failed ] || fail "gone: the run is not failed"
expect_exit 0 gone-all "$bin" resume --all --state-dir s-gone
echo "ok   gone: a forgotten workflow ends its run failed (exit 1); resume --all leaves it"
# cancel of a run whose workflow is forgotten: said so, the run ends failed with the reason
# stored (not "HTTP 404" and queued forever); a second cancel says the run has ended.
expect_exit 0 gone-c-start "$bin" run plan.yaml --api-url "$url" --detach --state-dir s-gone-c
gone=$(run_id_in s-gone-c)
wid=$("$bin" status "$gone" --state-dir s-gone-c --json | jq -r .workflowId)
curl -sf -X POST "$url/_sandbox/forget/$wid" > /dev/null || fail "gone: the sandbox did not forget $wid"
expect_exit 1 gone-cancel "$bin" cancel "$gone" --state-dir s-gone-c
grep -q "no longer knows workflow $wid" gone-cancel.err || fail "gone: cancel does not say what happened: $(cat gone-cancel.err)"
"$bin" status "$gone" --state-dir s-gone-c --json > gone-cancel.json
[ "$(jq -r .status gone-cancel.json)" = failed ] || fail "gone: after cancel the run is $(jq -r .status gone-cancel.json)"
[ "$(jq -r .error.code gone-cancel.json)" = workflow_not_found ] || fail "gone: cancel stored $(jq -c .error gone-cancel.json)"
expect_exit 0 gone-cancel2 "$bin" cancel "$gone" --state-dir s-gone-c
grep -q "has already ended (failed)" gone-cancel2.err || fail "gone: a second cancel: $(cat gone-cancel2.err)"
# reseed of a completed run whose workflow is forgotten: what happened and what to do, exit 1.
expect_exit 0 gone-r-start "$bin" run plan.yaml --api-url "$url" --state-dir s-gone-r --out gone-r-out
gone=$(run_id_in s-gone-r)
wid=$("$bin" status "$gone" --state-dir s-gone-r --json | jq -r .workflowId)
curl -sf -X POST "$url/_sandbox/forget/$wid" > /dev/null || fail "gone: the sandbox did not forget $wid"
expect_exit 1 gone-reseed "$bin" reseed "$gone" --step keyframe=42 --state-dir s-gone-r --out gone-r-out2
grep -q "no longer knows workflow $wid" gone-reseed.err || fail "gone: reseed does not say what happened: $(cat gone-reseed.err)"
grep -q "sogni-flow run " gone-reseed.err || fail "gone: reseed does not say what to do: $(cat gone-reseed.err)"
new_run=$("$bin" status --state-dir s-gone-r --json | jq -r "select(.run != \"$gone\") | .run")
"$bin" status "$new_run" --state-dir s-gone-r --json > gone-reseed.json
[ "$(jq -r .status gone-reseed.json)" = failed ] || fail "gone: the reseed run is $(jq -r .status gone-reseed.json)"
[ "$(jq -r .error.code gone-reseed.json)" = workflow_not_found ] || fail "gone: reseed stored $(jq -c .error gone-reseed.json)"
grep -q "$new_run" gone-reseed.err || fail "gone: reseed does not say which run is stored failed: $(cat gone-reseed.err)"
echo "ok   gone: cancel and reseed of a forgotten workflow say so, end failed (exit 1) with the reason stored"

# --- sandbox: the flags it cannot honour
expect_exit 2 sb-detach "$bin" run plan.yaml --sandbox --detach --state-dir s-sb
expect_exit 2 sb-url "$bin" run plan.yaml --sandbox --api-url "$url" --state-dir s-sb
nothing_stored s-sb || fail "sandbox: a run was stored"
echo "ok   sandbox: --detach and --api-url refused with --sandbox"

# --- cap: three runs under a cap of one active workflow
kill "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null
start_sandbox "$key" --step-ms 5 --max-active 1
cp plan.yaml p1.yaml; cp plan.yaml p2.yaml; cp plan.yaml p3.yaml
expect_exit 0 cap timeout 120 "$bin" run p1.yaml p2.yaml p3.yaml -j 3 --api-url "$url" --state-dir s-cap
grep -q "waiting for a slot" cap.err || fail "cap: no run waited for a slot"
[ "$(stats | jq .workflowsCreated)" -eq 3 ] || fail "cap: $(stats | jq .workflowsCreated) workflows for 3 runs"
echo "ok   cap: -j 3 under a cap of 1 waited for slots and completed 3 runs, one workflow each"

# --- json: no event printed before its batch is committed
kill "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null
start_sandbox "$key" --step-ms 5
SOGNI_FLOW_CRASH_AT=follow.before_commit:1 "$crash_bin" run plan.yaml --api-url "$url" --json --state-dir s-json \
  > json1.out 2> json1.err &
wait $! 2>/dev/null
[ $? -eq 137 ] || fail "json: the run was not killed at its first commit"
jrun=$(run_id_in s-json)
[ "$(grep -c workflow_event json1.out)" -eq 0 ] || fail "json: events were printed before they were committed"
expect_exit 0 json2 "$bin" resume "$jrun" --json --state-dir s-json
jq -r 'select(.event == "workflow_event") | .record.sequence' json1.out json2.out | sort -n > printed
[ "$(uniq -d printed | wc -l)" -eq 0 ] || fail "json: events printed twice: $(uniq -d printed | head -n 3 | tr '\n' ' ')"
[ "$(wc -l < printed)" -eq "$("$bin" status "$jrun" --state-dir s-json --json | jq .events)" ] ||
  fail "json: $(wc -l < printed) events printed, $("$bin" status "$jrun" --state-dir s-json --json | jq .events) stored"
echo "ok   json: nothing printed before its commit; across the crash each event printed once"

# --- step: a failed step's error is printed
kill "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null
start_sandbox "$key" --step-ms 5 --faults step_fail=1
expect_exit 1 step "$bin" run plan.yaml --api-url "$url" --state-dir s-step
grep -q "step keyframe failed: " step.err || fail "step: the failed step's error is not printed: $(tail -n 5 step.err)"
echo "ok   step: run prints the failed step's error"

# --- order: the run's status is said in its place among the step lines: a fast workflow's
# "completed" came right after its first "step ... running", before the steps' own lines
kill "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null
start_sandbox "$key" --step-ms 0
expect_exit 0 order "$bin" run plan.yaml --api-url "$url" --state-dir s-order
ro=$(run_id_in s-order)
last_step=$(grep -n "^$ro: step .* completed$" order.err | tail -n 1 | cut -d: -f1)
said=$(grep -n "^$ro: completed$" order.err | head -n 1 | cut -d: -f1)
[ -n "$last_step" ] && [ -n "$said" ] && [ "$said" -gt "$last_step" ] ||
  fail "order: '$ro: completed' (line ${said:-none}) before the last step line (${last_step:-none}): $(cat order.err)"
echo "ok   order: the run's status is said after the step lines of the events that carry it"

# --- the blocks below go through the fault proxy (tests/support/fault_proxy) where the sandbox
# alone cannot misbehave that way
kill "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null
start_sandbox "$key" --step-ms 5
proxy_bin=$bin_dir/tests/fault_proxy
[ -x "$proxy_bin" ] || fail "$proxy_bin is missing"
with_proxy() { start_fault_proxy "$proxy_bin" proxy.log --script "$1"; }  # its URL in $purl
# Every run stored in STATE_DIR has the sandbox's whole event log, and has ended as WANT.
all_events_stored() {  # STATE_DIR WANT
  local r wid n
  for r in $("$bin" status --state-dir "$1" --json | jq -r .run); do
    wid=$("$bin" status "$r" --state-dir "$1" --json | jq -r .workflowId)
    n=$(curl -sf "$url/_sandbox/events/$wid" | jq '.events | length')
    [ "$("$bin" status "$r" --state-dir "$1" --json | jq .events)" -eq "$n" ] || fail "$1: run $r stored other events than the server's $n"
    [ "$("$bin" status "$r" --state-dir "$1" --json | jq -r .status)" = "$2" ] || fail "$1: run $r is not $2"
  done
}

# --- url: an --api-url whose path is not the API's, or with a query: refused before anything is stored
before=$(created)
expect_exit 2 url-path "$bin" run plan.yaml --api-url "$url/nothere" --state-dir s-path
grep -q "no workflows route" url-path.err || fail "url-path: $(head -n 2 url-path.err)"
expect_exit 2 url-query "$bin" run plan.yaml --api-url "$url/?x=secret-query-1" --state-dir s-query
grep -q "query or fragment" url-query.err || fail "url-query: $(head -n 2 url-query.err)"
grep -q "secret-query-1" url-query.err && fail "url-query: the query was printed"
for s in s-path s-query; do nothing_stored "$s" || fail "$s: a run was stored"; done
[ "$(created)" -eq "$before" ] || fail "url: a workflow was created"
echo "ok   url: a base URL with a wrong path or a query exits 2, nothing stored"

# --- start401: the endpoint check passed, then the start is refused with 401: the run ends failed
with_proxy "start status 401"
expect_exit 3 start401 "$bin" run plan.yaml --api-url "$purl" --state-dir s-401
r401=$(run_id_in s-401)
[ "$("$bin" status "$r401" --state-dir s-401 --json | jq -r .status)" = failed ] || fail "start401: the run is not failed"
expect_exit 0 start401-all "$bin" resume --all --state-dir s-401
grep -q "$r401" start401-all.err && fail "start401: resume --all still takes the run up: $(head -n 2 start401-all.err)"
echo "ok   start401: a start refused with 401 ends the run failed (exit 3); resume --all leaves it"

# --- startcut: every answer to the start is not JSON, or cut short (the workflow exists): the
# outcome is not known, so the run is interrupted (exit 4, with the resume command), not failed;
# the resume re-sends the same key and completes with the one workflow.
for script in "start garble" "start truncate after=5"; do
  with_proxy "$script"
  before=$(created)
  expect_exit 4 startcut "$bin" run plan.yaml --api-url "$purl" --state-dir s-cut
  grep -q "sogni-flow resume" startcut.err || fail "startcut ($script): no resume command: $(tail -n 3 startcut.err)"
  rcut=$(run_id_in s-cut)
  stop_fault_proxy
  expect_exit 0 startcut-resume "$bin" resume "$rcut" --api-url "$url" --state-dir s-cut
  [ "$(created)" -le $((before + 1)) ] || fail "startcut ($script): $(( $(created) - before )) workflows for one run"
  all_events_stored s-cut completed
  rm -rf s-cut
done
echo "ok   startcut: a start whose answer is not JSON or cut exits 4 with the resume command; resume completes, one workflow"

# --- retry: a long Retry-After on the event stream: the log is read meanwhile and said so (with
# -j 2, as the cron recipe runs); a Retry-After of 309 digits is a capped wait, never a crash
with_proxy "stream status 503 retry_after=600"
cp plan.yaml q1.yaml; cp plan.yaml q2.yaml
expect_exit 0 retry timeout 100 "$bin" run q1.yaml q2.yaml -j 2 --api-url "$purl" --state-dir s-retry
grep -q "reading the event log every" retry.err || fail "retry: nothing said of the wait: $(tail -n 3 retry.err)"
all_events_stored s-retry completed
with_proxy "stream[1-2] status 503 retry_after_digits=309"
expect_exit 0 retry309 timeout 100 "$bin" run q1.yaml q2.yaml -j 2 --api-url "$purl" --state-dir s-retry309
all_events_stored s-retry309 completed
echo "ok   retry: a 600 s stream Retry-After under -j 2 reads the log meanwhile; 309 digits: a capped wait"
stop_fault_proxy

# --- approve: a run the server paused for its cost (the server prices higher than the offline
# model), its confirmation killed after the answer, confirmed again: the stored intent is sent
# again (same key, same body), one workflow, billed once, every event
kill "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null
start_sandbox "$key" --step-ms 5 --price-percent 200
cat > priced.yaml <<'PLAN'
version: 1
name: priced
budget: {max_units: 1}
steps:
  - {id: keyframe, toolName: generate_image, arguments: {prompt: a brass lamp on a desk, seed: 11}}
PLAN
expect_exit 5 priced "$bin" run priced.yaml --api-url "$url" --state-dir s-priced
rp=$(run_id_in s-priced)
grep -q "approve --run $rp" priced.err || fail "priced: no approve hint: $(tail -n 2 priced.err)"
SOGNI_FLOW_CRASH_AT=intent.answered:1 "$crash_bin" approve --run "$rp" --state-dir s-priced > approve1.out 2> approve1.err &
wait $! 2>/dev/null
[ $? -eq 137 ] || fail "approve: not killed after the confirmation's answer"
expect_exit 0 approve2 "$bin" approve --run "$rp" --state-dir s-priced
all_events_stored s-priced completed
st=$(stats)
[ "$(jq '.requests["POST /v1/creative-agent/workflows/:id/confirm-cost"]["200"]' <<<"$st")" -eq 2 ] ||
  fail "approve: confirm-cost answers: $(jq -c '.requests["POST /v1/creative-agent/workflows/:id/confirm-cost"]' <<<"$st")"
[ "$(jq '.unitsBilled | length' <<<"$st")" -eq 1 ] || fail "approve: billed: $(jq -c .unitsBilled <<<"$st")"
[ "$(jq .workflowsCreated <<<"$st")" -eq 1 ] || fail "approve: $(jq .workflowsCreated <<<"$st") workflows"
echo "ok   approve: a confirmation killed after its answer, sent again: one workflow, completed, every event"

# --- partial: a partial_failure run through the binary: exit 1, the failed step said, the
# others' files saved
kill "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null
start_sandbox "$key" --step-ms 5 --faults partial_failure=1
expect_exit 1 partial "$bin" run plan.yaml --api-url "$url" --state-dir s-partial --out partial-out
all_events_stored s-partial partial_failure
grep -q "failed: " partial.err || fail "partial: the failed step's error is not printed: $(tail -n 4 partial.err)"
rpart=$(run_id_in s-partial)
"$bin" artifacts "$rpart" --state-dir s-partial --no-download --json > partial-arts.json 2>/dev/null
[ "$(jq -r .state partial-arts.json | sort -u)" = done ] || fail "partial: not every artifact of the steps that ran is saved"
[ "$(wc -l < partial-arts.json)" -gt 0 ] || fail "partial: no artifact at all"
echo "ok   partial: a partial_failure run exits 1, says which step failed, saves the others' files"

# --- sandbox: a --sandbox run stopped early says it cannot be resumed, and artifacts says why
# (12 steps of about 6 events 20 ms apart each: longer than the 1 s --timeout)
printf 'version: 1\nname: twelve\nsteps:\n' > twelve.yaml
for i in $(seq 1 12); do echo "  - {id: s$i, toolName: generate_image, arguments: {prompt: lamp $i}}" >> twelve.yaml; done
expect_exit 8 sbt "$bin" run twelve.yaml --sandbox --timeout 1s --state-dir s-sbt --out sbt-out
grep -q "in-process sandbox ends with this process" sbt.err || fail "sandbox: $(tail -n 2 sbt.err)"
grep -q "resume it with\|resume fetches" sbt.err && fail "sandbox: a resume hint for an in-process sandbox run"
rs=$(run_id_in s-sbt)
expect_exit 2 sbt-resume "$bin" resume "$rs" --state-dir s-sbt
grep -q "in-process sandbox" sbt-resume.err || fail "sandbox: resume says: $(head -n 1 sbt-resume.err)"
# Its artifacts are recorded with the workflow's final record: none here, so nothing to download.
# A run that ended on the sandbox with files still missing (cut short while downloading):
printf 'version: 1\nname: one\nsteps:\n  - {id: s1, toolName: generate_image, arguments: {prompt: lamp}}\n' > one.yaml
expect_exit 0 sbt-one "$bin" run one.yaml --sandbox --state-dir s-sbt1 --out sbt1-out
rs1=$(run_id_in s-sbt1)
rm -f sbt1-out/s1/0.*
sqlite3 s-sbt1/state.db "UPDATE artifacts SET state = 'planned', local_path = '', sha256 = ''" ||
  fail "sandbox: could not mark the artifact missing"
expect_exit 1 sbt-arts "$bin" artifacts "$rs1" --state-dir s-sbt1
grep -q "in-process sandbox" sbt-arts.err || fail "sandbox: artifacts says: $(head -n 1 sbt-arts.err)"
echo "ok   sandbox: a --sandbox run cut short by --timeout says it ends there; resume and artifacts say why"

# --- quiet: a stream that goes quiet mid-way (here 4 s of silence after its first 300 KB): what
# it delivered is committed within about the flush interval (100 ms), not held until its next
# bytes (found by the outside attack: thousands of received events waited out a pause)
kill "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null
start_sandbox "$key" --step-ms 0 --events-per-step 3000
printf 'version: 1\nname: quiet\nsteps:\n  - {id: s1, toolName: generate_image, arguments: {prompt: quiet}}\n' > quiet.yaml
with_proxy "stream stall ms=4000 after=300000"
"$bin" run quiet.yaml --api-url "$purl" --state-dir s-quiet --no-download > quiet.out 2> quiet.err &
qpid=$!
bg_pids+=("$qpid")
stored_quiet() { "$bin" status --state-dir s-quiet --json 2>/dev/null | jq -r '.events // 0' | head -n 1; }
got=0
for _ in $(seq 1 30); do  # up to 3 s, inside the 4 s of silence
  sleep 0.1
  got=$(stored_quiet)
  [ "${got:-0}" -ge 600 ] && break
done
# The first 300 KB of the stream hold about 900 events (about 330 bytes each).
[ "${got:-0}" -ge 600 ] || fail "quiet: $got events stored during the silence; the first 300 KB hold about 900"
wait "$qpid" || fail "quiet: the run exited $?: $(tail -n 3 quiet.err)"
all_events_stored s-quiet completed
stop_fault_proxy
echo "ok   quiet: a stream silent for 4 s has what it delivered committed meanwhile"
