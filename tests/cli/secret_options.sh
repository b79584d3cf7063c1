#!/usr/bin/env bash
# No secret is ever echoed. For every command of `sogni-flow --help`, every option of its --help
# whose name says key, token or secret is given a canary in every bad way: a file that does not
# exist, a directory, a file unreadable by us, a file open to others (0644), an empty file, a
# symbolic link, a file holding a key the API refuses (401), every abbreviation of the name, the
# `=` form, an empty value, a value with a newline, the option last with no value; before and
# after the positional arguments. The names a user might guess (--api-key, --token, --secret,
# --api-token) are tried on every command too, where they are not options. The canary is the value, the file's name and the file's content; it must
# never appear on stdout or stderr. The parser's cases (a name that is not an option, an
# abbreviation, an empty or missing value) must exit 2.
# Then `sandbox --api-key KEY`: it prints its URL and an export line, and a key given this way
# never (only a key it made up itself).
# The real binary against its own sandbox on 127.0.0.1; stops by itself.
set -u
. "$(dirname "$0")/lib.sh"
test_setup "$1"
require timeout
good_key=k-secret-options-good-5d1c
canary=sk-canary-$$-9e4b7a
export SOGNI_FLOW_STATE_DIR="$work/state" HOME="$work/home" SOGNI_API_KEY="$good_key"
mkdir -p home
start_sandbox "$good_key" --step-ms 0
export SOGNI_API_BASE_URL=$url

cat > plan.yaml <<'PLAN'
version: 1
name: secret-options
steps:
  - {id: still, toolName: generate_image, arguments: {prompt: a lamp}}
PLAN
cat > template.yaml <<'PLAN'
version: 1
kind: template
name: secret-options-template
steps:
  - {id: still, toolName: generate_image, arguments: {prompt: a lamp}}
PLAN
timeout 60 "$bin" run plan.yaml --out out > seed.out 2> seed.err || fail "the run the checks need did not complete"
run=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' seed.err)
[ -n "$run" ] || fail "no run id in: $(cat seed.err)"
printf 'version: 1\nkind: batch\nname: secret-options\nentries:\n  - plan: plan.yaml\n' > b.batch.yaml
# A run stored unfinished (detached), for cancel to have something to do.
timeout 60 "$bin" run plan.yaml --detach > detached.out 2> detached.err || fail "run --detach failed"
detached=$(sed -n 's/^run \(r-[^ ]*\) .*/\1/p' detached.err)
[ -n "$detached" ] || fail "no run id in: $(cat detached.err)"

# Arguments that take each command far enough to read its options' files.
base_args() {
  case "$1" in
    validate|estimate|run|approve) echo "plan.yaml" ;;
    resume) echo "--all" ;;
    cancel) echo "$detached" ;;
    status|events|reseed|artifacts) echo "$run" ;;
    templates) echo "list" ;;
    batch) echo "run b.batch.yaml" ;;  # its actions take the options; run has every one
    *) echo "" ;;
  esac
}

# The bad files, each named by the canary and holding it.
mkdir -p "bad/$canary" bad/missing bad/unreadable bad/open bad/empty bad/link bad/refused bad/fifo bad/huge
unreadable="bad/unreadable/$canary"; echo "$canary" > "$unreadable"; chmod 000 "$unreadable"
open_file="bad/open/$canary"; echo "$canary" > "$open_file"; chmod 644 "$open_file"
empty_file="bad/empty/$canary"; : > "$empty_file"; chmod 600 "$empty_file"
refused="bad/refused/$canary"; echo "$canary" > "$refused"; chmod 600 "$refused"
ln -s "../refused/$canary" "bad/link/$canary"
fifo="bad/fifo/$canary"; mkfifo -m 600 "$fifo"  # opening it for reading would wait for a writer
huge="bad/huge/$canary"; for _ in $(seq 1 300); do printf '%s' "$canary"; done > "$huge"; chmod 600 "$huge"
bad_values=("bad/missing/$canary" "bad/$canary" "$unreadable" "$open_file" "$empty_file" "bad/link/$canary" "$refused"
            "$canary" "$canary
second-line" " $canary" "$fifo" "$huge")

checked=0
# probe WANT ARGS...: runs `sogni-flow ARGS...`; fails when it prints the canary, or when WANT is
# a number and the exit code differs.
probe() {
  local rc want=$1
  shift
  timeout 30 "$bin" "$@" < /dev/null > probe.out 2> probe.err
  rc=$?
  checked=$((checked + 1))
  if grep -qF -- "$canary" probe.out probe.err; then
    fail "the canary was printed by: sogni-flow ${*//$canary/CANARY}"$'\n'"$(sed "s/$canary/CANARY/g" probe.out probe.err | head -5)"
  fi
  [ "$rc" -ne 124 ] || fail "timed out: sogni-flow ${*//$canary/CANARY}"
  [ "$want" = any ] || [ "$rc" -eq "$want" ] || fail "exit $rc, expected $want: sogni-flow ${*//$canary/CANARY}"
}

mapfile -t commands < <("$bin" --help | sed -n '/^commands:/,/^$/s/^  \([a-z]\+\) .*/\1/p')
[ "${#commands[@]}" -ge 12 ] || fail "only ${#commands[@]} commands in sogni-flow --help"
secret_options=0
for cmd in "${commands[@]}"; do
  read -r -a base <<< "$(base_args "$cmd")"
  help_of=("$cmd"); [ "$cmd" = batch ] && help_of=(batch run)
  mapfile -t options < <("$bin" "${help_of[@]}" --help | sed -n 's/^  \(-[a-zA-Z], \|    \)--\([a-z0-9-]\+\).*/\2/p')
  [ "${#options[@]}" -ge 1 ] || fail "$cmd --help lists no options"
  names=(api-key token secret api-token)
  for o in "${options[@]}"; do
    case "$o" in *key*|*token*|*secret*) names+=("$o"); secret_options=$((secret_options + 1)) ;; esac
  done
  for name in $(printf '%s\n' "${names[@]}" | sort -u); do
    [ "$cmd" = sandbox ] && [ "$name" = api-key ] && continue  # takes a key by design: below
    known=any  # an option of the command: what a bad file does depends on the command
    printf '%s\n' "${options[@]}" | grep -qx -- "$name" || known=2
    if [ "$known" = 2 ]; then  # not an option: refused by its name alone, whatever follows
      probe 2 "$cmd" "${base[@]}" "--$name" "${bad_values[8]}"
      probe 2 "$cmd" "--$name=$canary" "${base[@]}"
      probe 2 "$cmd" "${base[@]}" "--$name="
      continue
    fi
    for v in "${bad_values[@]}"; do
      probe any "$cmd" "${base[@]}" "--$name" "$v"
      probe any "$cmd" "--$name=$v" "${base[@]}"
    done
    probe 2 "$cmd" "${base[@]}" "--$name="
    probe 2 "$cmd" "${base[@]}" "--$name" ""
    probe 2 "$cmd" "${base[@]}" "--$name"
    # Every abbreviation, down to two letters (one that is itself an option is skipped).
    for ((n = ${#name} - 1; n >= 2; n--)); do
      printf '%s\n' "${options[@]}" | grep -qx -- "${name:0:n}" && continue
      probe 2 "$cmd" "${base[@]}" "--${name:0:n}" "$canary"
      probe 2 "$cmd" "${base[@]}" "--${name:0:n}=$canary"
    done
  done
done
[ "$secret_options" -ge 7 ] || fail "only $secret_options secret options found in the commands' --help"
# What run makes of each kind of bad key file, by exit code: a FIFO or a link is refused (7)
# without waiting on it, a file of more than 4096 bytes is no key (3), never cut to one.
probe 7 run plan.yaml --api-key-file "$fifo"
probe 7 run plan.yaml --api-key-file "bad/link/$canary"
probe 7 run plan.yaml --api-key-file "$open_file"
probe 3 run plan.yaml --api-key-file "$huge"
probe 3 run plan.yaml --api-key-file "$empty_file"
echo "ok: $checked bad uses of $secret_options secret options and the guessed names, no canary printed"

# sandbox --api-key: the given key is never printed; a made-up one is (that is what it is for).
sandbox_output() {
  "$bin" sandbox --port 0 "$@" > sb.out 2> sb.err &
  local pid=$!
  for _ in $(seq 1 100); do grep -q "^export " sb.out 2>/dev/null && break; sleep 0.1; done
  kill -TERM "$pid" 2>/dev/null
  wait "$pid"
}
sandbox_output --api-key "$canary"
grep -q "^export SOGNI_API_BASE_URL=http://127.0.0.1:[0-9]*$" sb.out || fail "sandbox --api-key KEY: the export line is wrong: $(cat sb.out)"
! grep -qF -- "$canary" sb.out sb.err || fail "sandbox --api-key KEY printed the key"
sandbox_output --api-key "$good_key" --api-key "$canary"
! grep -qF -- "$canary" sb.out sb.err || fail "sandbox with two --api-key printed a key"
sandbox_output
grep -q "^export SOGNI_API_BASE_URL=http://127.0.0.1:[0-9]* SOGNI_API_KEY=[A-Za-z0-9_-]\{16,\}$" sb.out ||
  fail "sandbox without --api-key does not print the key it made: $(cat sb.out)"
for v in "" "$canary
second-line" "$canary with-space"; do
  timeout 10 "$bin" sandbox --port 0 --api-key "$v" > sb.out 2> sb.err; rc=$?
  [ "$rc" -eq 2 ] || fail "sandbox --api-key with a bad key exited $rc, expected 2"
  ! grep -qF -- "$canary" sb.out sb.err || fail "sandbox --api-key printed a refused key"
done
for abbreviation in --api-ke --api --ap; do
  timeout 10 "$bin" sandbox --port 0 "$abbreviation" "$canary" > sb.out 2> sb.err; rc=$?
  [ "$rc" -eq 2 ] || fail "sandbox $abbreviation exited $rc, expected 2"
  ! grep -qF -- "$canary" sb.out sb.err || fail "sandbox $abbreviation printed the key"
done
echo "ok: sandbox prints only a key it made up, never one given with --api-key"
