#!/usr/bin/env bash
# The project stands alone: a clone has no design folder beside it. Fails when a tracked file
#   1. points into that folder: "../shared", "shared/reference", "shared/design.md", or names one
#      of its files (design.md, sogni-api.md, sogni-projects.md, design-review.md, aesthetics.md,
#      anchors-features.md) that the repository does not have;
#   2. names a docs/NAME.md, or links a NAME.md from a page of docs/ or the README, that does not
#      exist (a pointer moved into docs/ must land on a page that is there).
#
#   standalone_check.sh SOURCE_DIR
set -u
src=$(realpath "${1:-.}")
cd "$src" || exit 1
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files)
else  # an unpacked archive: every file but build output and fetched dependencies
  mapfile -t files < <(find . -type f -not -path './build*' -not -path './.deps/*' -not -path '*/node_modules/*' \
                         -not -path './.git/*' | sed 's#^\./##')
fi
[ "${#files[@]}" -gt 0 ] || { echo "FAIL: no files found under $src"; exit 1; }
problems=0

# The patterns are spelled so that this script does not match itself.
folder='shared'
pointer="\.\./${folder}|${folder}/(reference|design\.md)"
names='(design|sogni-api|sogni-projects|design-review|aesthetics|anchors-features)\.md'
while IFS= read -r hit; do
  file=${hit%%:*}
  [ "$file" = "tests/docs/standalone_check.sh" ] && continue
  echo "points into the design folder: $hit"
  problems=$((problems + 1))
done < <(printf '%s\0' "${files[@]}" | xargs -0 grep -nIE -- "$pointer" 2>/dev/null)
while IFS= read -r hit; do
  file=${hit%%:*}
  [ "$file" = "tests/docs/standalone_check.sh" ] && continue
  name=$(grep -oE -- "$names" <<<"${hit#*:*:}" | head -n 1)
  printf '%s\n' "${files[@]}" | grep -qE "(^|/)${name//./\\.}$" && continue
  echo "names a design-folder file the repository does not have: $hit"
  problems=$((problems + 1))
done < <(printf '%s\0' "${files[@]}" | xargs -0 grep -nIwE -- "$names" 2>/dev/null)

# docs/NAME.md anywhere, and relative NAME.md links in the README and docs/.
while IFS= read -r hit; do
  file=${hit%%:*}
  ref=${hit##*:}
  [ -f "$ref" ] || [ "$file" = "tests/docs/standalone_check.sh" ] && continue
  echo "names a page that does not exist: $file: $ref"
  problems=$((problems + 1))
done < <(printf '%s\0' "${files[@]}" | xargs -0 grep -oIE -- '(^|[^A-Za-z0-9_./-])docs/[A-Za-z0-9_-]+\.md' 2>/dev/null |
         sed -E 's#^([^:]*):.*(docs/[A-Za-z0-9_-]+\.md)$#\1:\2#')
for page in README.md docs/*.md; do
  [ -f "$page" ] || continue
  while IFS= read -r link; do
    target=${link#](}
    target=${target%%[#)]*}
    [ -f "$(dirname "$page")/$target" ] && continue
    echo "links a page that does not exist: $page: $target"
    problems=$((problems + 1))
  done < <(grep -oE '\]\([A-Za-z0-9_./-]+\.md(#[^)]*)?\)' "$page")
done

echo "${#files[@]} files checked, $problems problems"
[ "$problems" -eq 0 ]
