#!/bin/sh
# install-test.sh BUILD_DIR EXAMPLES_DIR WORK_DIR LIBDIR CC "FLAGS"
#
# What a new user does, checked: install the build into a fresh prefix, then
# build the examples against the installed tree
#   1. with pkg-config (examples/Makefile), shared and static,
#   2. with CMake's find_package(gcheap) (examples/CMakeLists.txt on its own),
# and run them: embed, threads, and the Lisp's programs on every collector
# through the standalone CMake build's own ctest. FLAGS (the sanitizer flags
# of a sanitizer build) are added to every consumer's compile and link.
set -eu
build=$1 examples=$2 work=$3 libdir=$4 cc=$5 flags=${6:-}
unset GCHEAP_OPTIONS

prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"
step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*"; exit 1; }

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
sed 's/^/  /' "$work/install.log" | grep -v "Up-to-date" || true

step "the installed files"
for f in include/gcheap.h "$libdir/libgcheap.a" "$libdir/libgcheap.so" \
         "$libdir/pkgconfig/gcheap.pc" "$libdir/cmake/gcheap/gcheapConfig.cmake" \
         "$libdir/cmake/gcheap/gcheapConfigVersion.cmake"; do
  [ -e "$prefix/$f" ] || fail "$f is not installed"
  echo "  $f"
done
[ ! -e "$prefix/include/gcheap-testing.h" ] || fail "gcheap-testing.h is installed"
if [ -e "$build/gcheap" ]; then
  [ -x "$prefix/bin/gcheap" ] || fail "bin/gcheap is not installed"
  "$prefix/bin/gcheap" --version
fi
soname=$(readelf -d "$prefix/$libdir/libgcheap.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
echo "  SONAME $soname"
[ -e "$prefix/$libdir/$soname" ] || fail "no $soname in $libdir"
# Exactly the functions gcheap.h declares are exported (its gc_inline_*
# functions are static inline: the header's own).
header_functions=$(grep -o '[ *]gc_[a-z0-9_]*(' "$prefix/include/gcheap.h" |
                   tr -d ' *(' | grep -v '^gc_inline_' | sort -u)
exported=$(nm -D --defined-only "$prefix/$libdir/libgcheap.so" |
           awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort -u)
[ "$header_functions" = "$exported" ] ||
  fail "the exports differ from gcheap.h: $(echo "$header_functions" >"$work/h";
        echo "$exported" >"$work/e"; diff "$work/h" "$work/e" | tr '\n' ' ')"
echo "  exports: $(echo "$exported" | wc -l) functions, as in gcheap.h"

export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
step "pkg-config gcheap: $(pkg-config --modversion gcheap)"
echo "  cflags: $(pkg-config --cflags gcheap)"
echo "  libs: $(pkg-config --libs gcheap)"
echo "  libs --static: $(pkg-config --static --libs gcheap)"
for link in shared static; do
  rm -rf "$work/pc-$link" # make creates O= itself, as a user expects
  make -s -C "$examples" CC="$cc" O="$work/pc-$link" LINK=$link \
       CFLAGS="-O2 -g $flags" LDFLAGS="$flags"
  "$work/pc-$link/embed" -C collector=null
  "$work/pc-$link/embed"
  "$work/pc-$link/threads"
  "$work/pc-$link/gcheap-lisp" -e '(display (list "pkg-config" (quote '$link')))' -e '(newline)'
done
# The libgcheap.so a program loads, as a canonical path.
loaded_gcheap() {
  path=$(ldd "$1" | awk '/libgcheap/ { print $3 }')
  [ -n "$path" ] && realpath "$path"
}
installed_so=$(realpath "$prefix/$libdir/$soname")
[ "$(loaded_gcheap "$work/pc-shared/gcheap-lisp")" = "$installed_so" ] ||
  fail "the pkg-config build does not load $installed_so"
if ldd "$work/pc-static/gcheap-lisp" | grep -q libgcheap; then
  fail "the static pkg-config build links libgcheap.so"
fi

for link in shared static; do
  if [ $link = static ]; then static=ON; else static=OFF; fi
  step "find_package(gcheap), $link: cmake -S $examples"
  cmake -S "$examples" -B "$work/cmake-$link" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$flags" \
        -DCMAKE_EXE_LINKER_FLAGS="$flags" -DGCHEAP_USE_STATIC_LIBS=$static \
        >"$work/cmake-$link.log" || { cat "$work/cmake-$link.log"; exit 1; }
  cmake --build "$work/cmake-$link" -j2 >"$work/cmake-$link-build.log" ||
    { cat "$work/cmake-$link-build.log"; exit 1; }
  if [ $link = shared ]; then
    [ "$(loaded_gcheap "$work/cmake-$link/gcheap-lisp")" = "$installed_so" ] ||
      fail "the CMake build does not load $installed_so"
  fi
done
# The plain runs: every collector, the same expected output. (The
# stress+verify runs are the in-tree lisp.*.stress-verify tests; the
# installed library is the same code.)
step "ctest in the find_package build (shared): the Lisp on every collector"
(cd "$work/cmake-shared" && ctest --output-on-failure -E stress)
step "the find_package build (static)"
"$work/cmake-static/embed"
"$work/cmake-static/threads"
"$work/cmake-static/gcheap-lisp" -e '(display "find_package static")' -e '(newline)'

step "all consumers built and ran"
