#!/usr/bin/env bash
# Time and peak memory of `sogni-flow validate` on hostile plan files: an alias bomb, a
# self-referential alias, a 2 MiB file, a duplicate key, invalid UTF-8 and 100,000 open
# brackets. Each must exit 2; prints wall time (best of 5) and peak RSS. Needs GNU time.
set -euo pipefail
bin=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
{
  echo 'version: 1'
  echo 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
  prev=a
  for l in b c d e f g h i; do
    echo "$l: &$l [*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev]"; prev=$l
  done
} > alias-bomb.yaml
printf '&x [*x]\n' > self-alias.yaml
head -c 2097152 /dev/zero | tr '\0' 'a' > two-mib.yaml
printf 'version: 1\nname: a\nname: b\nsteps: []\n' > duplicate-key.yaml
printf 'version: 1\nname: "caf\xe9"\n' > invalid-utf8.yaml
printf '%100000s' '' | tr ' ' '[' > deep-brackets.yaml

printf '%-20s %6s %10s %12s\n' input exit "best ms" "peak RSS KiB"
worst_ms=0; worst_kb=0
for f in alias-bomb self-alias two-mib duplicate-key invalid-utf8 deep-brackets; do
  best=999999; rss=0; rc=0
  for i in 1 2 3 4 5; do
    start=$(date +%s%N)
    /usr/bin/time -f '%M' -o rss.txt "$bin" validate --quiet "$f.yaml" 2>/dev/null && rc=0 || rc=$?
    end=$(date +%s%N)
    ms=$(( (end - start) / 1000000 ))
    [ $ms -lt $best ] && best=$ms
    kb=$(tail -1 rss.txt); [ "$kb" -gt $rss ] && rss=$kb
  done
  printf '%-20s %6s %10s %12s\n' "$f" "$rc" "$best" "$rss"
  [ "$rc" -eq 2 ] || { echo "expected exit 2 for $f"; exit 1; }
  [ $best -gt $worst_ms ] && worst_ms=$best
  [ $rss -gt $worst_kb ] && worst_kb=$rss
done
echo "worst: ${worst_ms} ms, ${worst_kb} KiB (targets: 100 ms, 65536 KiB)"
