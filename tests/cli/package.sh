#!/usr/bin/env bash
# The .deb (`make package`: CPack over `cmake --install`), built from this build directory and
# unpacked into a temporary root, as an installation would lay it out:
#   1. its control file names the package, the project's version and the libraries the binary
#      links (dpkg-shlibdeps), and it installs nothing outside /usr;
#   2. the installed binary runs from the temporary root: --version, validate of a sample plan (exit
#      0) and of a broken one (exit 2 at file:line:col);
#   3. the manual page renders, has a section for every command, and its options are the binary's;
#   4. the bash completion completes commands and a command's options; the zsh one holds every
#      command (and parses, when zsh is installed).
#
#   package.sh BUILD_DIR SOURCE_DIR
set -u
build=$(realpath "$1")
src=$(realpath "$2")
. "$(dirname "$0")/lib.sh"
test_setup "$build/sogni-flow"
require cpack dpkg-deb man

cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/pkg" > cpack.log 2>&1 || fail "cpack failed: $(tail -5 cpack.log)"
deb=$(ls "$work"/pkg/sogni-flow_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no .deb in $work/pkg: $(ls "$work/pkg")"

# --- 1. the control file and the layout ------------------------------------------------------------
version=$("$bin" --version | awk '{print $2}')
[ "$(dpkg-deb -f "$deb" Package)" = sogni-flow ] || fail "Package: $(dpkg-deb -f "$deb" Package)"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version $(dpkg-deb -f "$deb" Version), the binary says $version"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libpoconet libpoconetssl libpocofoundation libyaml-cpp libsqlite3 libssl libstdc++6; do
  case "$depends" in *"$lib"*) ;; *) fail "Depends does not name $lib: $depends" ;; esac
done
outside=$(dpkg-deb -c "$deb" | awk '{print $6}' | grep -v '^\./usr/' | grep -v '^\./$' || true)
[ -z "$outside" ] || fail "the package installs outside /usr: $outside"

# --- 2. the binary, from a temporary root ---------------------------------------------------------
dpkg-deb -x "$deb" root || fail "dpkg-deb -x failed"
installed=$work/root/usr/bin/sogni-flow
[ -x "$installed" ] || fail "no executable usr/bin/sogni-flow in the package"
[ "$("$installed" --version)" = "sogni-flow $version" ] || fail "--version from the root: $("$installed" --version)"
cp "$src/samples/hello-sandbox.yaml" plan.yaml
"$installed" validate plan.yaml > validate.out 2> validate.err || fail "validate of a sample from the root exited $?"
sed 's/toolName: generate_video/toolName: generate_vidoe/' plan.yaml > broken.yaml
"$installed" validate broken.yaml > /dev/null 2> broken.err
rc=$?
[ "$rc" -eq 2 ] || fail "validate of a broken plan from the root exited $rc, expected 2"
grep -q '^broken.yaml:[0-9]*:[0-9]*: error: ' broken.err || fail "no file:line:col from the installed binary: $(cat broken.err)"

# --- 3. the manual page ---------------------------------------------------------------------------
page=root/usr/share/man/man1/sogni-flow.1.gz
[ -f "$page" ] || fail "no manual page at usr/share/man/man1/sogni-flow.1.gz"
MANWIDTH=100 man -l "$page" > man.txt 2> man.err || fail "man -l failed: $(cat man.err)"
grep -q '^SOGNI-FLOW(1)' man.txt || fail "the page has no SOGNI-FLOW(1) header"
[ ! -s man.err ] || fail "troff warned: $(cat man.err)"
mapfile -t commands < <("$installed" --help | sed -n '/^commands:/,/^$/s/^  \([a-z]\+\) .*/\1/p')
for c in "${commands[@]}"; do
  grep -q "^   sogni-flow $c\$" man.txt || fail "the manual page has no section for '$c'"
done
grep -q -- '--show-origin' man.txt || fail "the manual page lacks config's --show-origin"
grep -q -- '--state-dir DIR' man.txt || fail "an option's hyphens did not survive troff"

# --- 4. completions -------------------------------------------------------------------------------
comp=root/usr/share/bash-completion/completions/sogni-flow
[ -f "$comp" ] || fail "no bash completion"
complete_words() {  # complete_words WORD...: what the completion offers for the last word
  bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _sogni_flow; printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$@"
}
[ "$(complete_words sogni-flow vali)" = validate ] || fail "bash: 'vali' completes to '$(complete_words sogni-flow vali)'"
[ "$(complete_words sogni-flow con)" = config ] || fail "bash: 'con' completes to '$(complete_words sogni-flow con)'"
[ "$(complete_words sogni-flow run --state)" = --state-dir ] || fail "bash: 'run --state' completes to '$(complete_words sogni-flow run --state)'"
[ "$(complete_words sogni-flow config --show)" = --show-origin ] || fail "bash: 'config --show' completes to '$(complete_words sogni-flow config --show)'"
zcomp=root/usr/share/zsh/vendor-completions/_sogni-flow
[ -f "$zcomp" ] || fail "no zsh completion"
head -1 "$zcomp" | grep -q '^#compdef sogni-flow$' || fail "the zsh completion does not start with #compdef"
for c in "${commands[@]}"; do grep -q "^    '$c:" "$zcomp" || fail "the zsh completion lacks '$c'"; done
if command -v zsh > /dev/null; then zsh -n "$zcomp" || fail "the zsh completion does not parse"; fi

echo "PASS package: $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB) installs, runs from a temporary root, with its manual page and completions"
