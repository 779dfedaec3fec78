#!/usr/bin/env bash
# Builds the WASM test fixtures (fixtures/wasm/src/*.c -> fixtures/wasm/*.wasm).
# Idempotent: a module is rebuilt only when its source is newer than its .wasm.
# Debian's wasi-libc has no /usr/share/wasi-sysroot, so no --sysroot is passed
# (clang finds the wasm32-wasi headers and libc under /usr on its own).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/fixtures/wasm/src"
out="$root/fixtures/wasm"

if ! command -v clang >/dev/null 2>&1; then
  echo "clang not found; installing the wasm32-wasi toolchain" >&2
  apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
fi

cflags=(--target=wasm32-wasi -O2 -Wall -Wextra -Werror -Wl,--strip-all)
force="${1:-}"

build() {
  local name="$1"; shift
  local in="$src/$name.c" target="$out/$name.wasm"
  if [[ "$force" != "--force" && -f "$target" && "$target" -nt "$in" && "$target" -nt "${BASH_SOURCE[0]}" ]]; then
    return
  fi
  clang "${cflags[@]}" "$@" -o "$target.tmp" "$in"
  mv "$target.tmp" "$target"
  echo "built $(basename "$target") ($(stat -c %s "$target") bytes)"
}

for prog in hello args exitcode cat wordcount writeout spin cpu memhog stderr ticker listdir usemath entry fsops; do
  build "$prog"
done
# A library module: no _start, no libc, only the export the importer needs.
build mathlib -nostdlib -nostartfiles -Wl,--no-entry -Wl,--export=add
