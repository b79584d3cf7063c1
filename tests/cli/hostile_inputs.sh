#!/usr/bin/env bash
# Hostile plan files against the real binary: each must exit 2 with a file:line:col diagnostic.
# (How fast and how small that is, is measured by bench/hostile_inputs, not here.)
set -u
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail=0

expect() {  # NAME FILE REGEX
  local out rc
  out=$("$bin" validate --quiet "$2" 2>&1); rc=$?
  if [ $rc -ne 2 ] || ! printf '%s' "$out" | grep -Eq "$3"; then
    echo "FAIL $1: exit $rc, output:"; printf '%s\n' "$out" | head -5; fail=1
  else
    echo "ok   $1: $(printf '%s' "$out" | head -1)"
  fi
}

# A billion-laughs alias bomb: nine levels, each nine times the last.
{
  echo 'version: 1'
  echo 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
  prev=a
  for l in b c d e f g h i; do
    echo "$l: &$l [*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev]"
    prev=$l
  done
} > bomb.yaml
expect alias-bomb bomb.yaml '^bomb\.yaml:2:4: error: YAML anchors and aliases are not supported'

printf '&x [*x]\n' > self.yaml
expect self-alias self.yaml '^self\.yaml:1:1: error: YAML anchors and aliases are not supported'

head -c 2097152 /dev/zero | tr '\0' 'a' > big.yaml
expect two-mib big.yaml '^big\.yaml:1:1048577: error: plan too large: 2097152 bytes'

printf 'version: 1\nname: a\nname: b\nsteps: []\n' > dup.yaml
expect duplicate-key dup.yaml "^dup\.yaml:3:1: error: duplicate key 'name' \(first defined at line 2\)"

printf 'version: 1\nname: "caf\xe9"\n' > utf8.yaml
expect invalid-utf8 utf8.yaml '^utf8\.yaml:2:11: error: invalid UTF-8 at byte offset 21'

python3 -c 'print("[" * 100000)' > deep.yaml 2>/dev/null || printf '%100000s' '' | tr ' ' '[' > deep.yaml
expect deep-nesting deep.yaml '^deep\.yaml:1:65: error: nesting deeper than 64 levels'

mkfifo fifo.yaml
expect fifo fifo.yaml '^fifo\.yaml: error: not a regular file'

[ -z "$(ls -A . | grep -v -E '^(bomb|self|big|dup|utf8|deep|fifo)\.yaml$')" ] || { echo "FAIL: files appeared: $(ls -A)"; fail=1; }
exit $fail
