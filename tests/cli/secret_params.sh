#!/usr/bin/env bash
# A param whose name says key, token, secret or password (docs/plan-language.md 4.1) is never
# shown: its value, a canary here, is given from each source (default, SOGNI_FLOW_PARAM_*,
# --param-file, -p) and made to break each kind of argument check after interpolation (a type, a
# maximum, an enum, a string with it inside), then every command that reads params runs in text
# and --json; the canary must appear on no output and in no file `approve` writes. It is still
# used: the body `run --dry-run` prints carries it (documented), and the approval binds it (a
# changed value voids the approval). A stale approval's suggested command does not repeat it.
#   secret_params.sh BIN
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
canary=CANARY$$x7
export SOGNI_API_KEY=k-secret-params

# plan NAME ARGUMENT-YAML: a one-step plan with a secret param api_token (no default) used there.
plan() {
  cat > "$1.yaml" <<PLAN
version: 1
name: $1
params:
  api_token: {type: string}
  n: {type: integer, default: 2}
budget: {approval: required}
steps:
  - {id: a, toolName: generate_image, arguments: {$2}}
PLAN
}
plan type 'prompt: a lamp, width: "${params.api_token}"'
plan enum 'prompt: a lamp, outputFormat: "${params.api_token}"'
plan inside 'prompt: "a lamp ${params.api_token}", numberOfVariations: "x${params.api_token}"'
plan fine 'prompt: "a lamp ${params.api_token}"'
printf 'api_token: %s\n' "$canary" > params.yaml

checked=0
# leak_free WANT ARGS...: `sogni-flow ARGS...` exits WANT and prints no canary.
leak_free() {
  local want=$1 rc
  shift
  timeout 60 "$bin" "$@" > out.txt 2> err.txt
  rc=$?
  [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, wanted $want: $(head -c 600 err.txt)"
  grep -q "$canary" out.txt err.txt && fail "'$*' printed the secret param's value: $(grep -h "$canary" out.txt err.txt | head -n 3)"
  checked=$((checked + 1))
}
for source in default env file flag; do
  for p in type enum inside; do
    args=()
    case $source in
      default) sed -i "s/api_token: {type: string.*}/api_token: {type: string, default: \"$canary\"}/" "$p.yaml" ;;
      env) export SOGNI_FLOW_PARAM_api_token=$canary ;;
      file) args=(--param-file params.yaml) ;;
      flag) args=(-p "api_token=$canary") ;;
    esac
    for json in "" --json; do
      leak_free 2 validate "$p.yaml" "${args[@]}" $json
      leak_free 2 estimate "$p.yaml" "${args[@]}" $json
    done
    leak_free 2 approve "$p.yaml" --max-units 100 "${args[@]}"
    leak_free 2 run "$p.yaml" --out out --state-dir state "${args[@]}"
    # The message says which secret param, in words.
    leak_free 2 validate "$p.yaml" "${args[@]}"
    grep -q "value not shown: it holds secret param 'api_token'" err.txt ||
      fail "$p ($source): the message does not say the value is hidden: $(head -c 400 err.txt)"
    sed -i "s/api_token: {type: string.*}/api_token: {type: string}/" "$p.yaml"
    unset SOGNI_FLOW_PARAM_api_token
  done
done

# A valid plan: approve writes a file that does not hold the value, and binds it all the same.
leak_free 0 approve fine.yaml --max-units 100 -p "api_token=$canary"
grep -q "$canary" fine.approval.json && fail "fine.approval.json holds the secret param's value: $(cat fine.approval.json)"
grep -q '"api_token": "(not recorded: the name says it is secret)"' fine.approval.json ||
  fail "fine.approval.json does not name the secret param: $(cat fine.approval.json)"
# The same value passes the gate (dry run: nothing is sent); another one is refused, exit 5, and
# the command it suggests does not repeat the value.
timeout 60 "$bin" run fine.yaml --dry-run -p "api_token=$canary" > dry.out 2> dry.err ||
  fail "run --dry-run with the approved value exited $?: $(cat dry.err)"
grep -q "$canary" dry.out || fail "run --dry-run's body does not carry the secret param's value (it is sent)"
leak_free 5 run fine.yaml --dry-run -p "api_token=${canary}2"
grep -q "approve fine.yaml --max-units [0-9]* -p 'api_token=(its value, not shown)'" err.txt ||
  fail "the stale approval's hint: $(cat err.txt)"
# A value that needs quoting in the suggested command (not secret) is quoted for the shell.
cat > quoted.yaml <<'PLAN'
version: 1
name: quoted
params:
  title: {type: string, default: x}
budget: {approval: required}
steps:
  - {id: a, toolName: generate_image, arguments: {prompt: "a lamp ${params.title}"}}
PLAN
timeout 60 "$bin" run quoted.yaml --dry-run -p "title=it's \$HOME" > q.out 2> q.err
[ $? -eq 5 ] || fail "run without an approval did not exit 5: $(cat q.err)"
grep -qF -- "-p 'title=it'\\''s \$HOME'" q.err || fail "the suggested -p is not one shell word: $(cat q.err)"
echo "ok: $checked commands with a secret param's value from 4 sources in 3 checks: never shown; approval file without it, bound to it"
