#!/usr/bin/env bash
# Incremental development build: compiles into build/dev and drops the extension modules into
# python/convengine so that `PYTHONPATH=python pytest` runs against the working tree.
# Builds are serialised with a lock so that concurrent callers never run ninja in one tree at once.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
exec 9>build/.dev-build.lock
flock 9
if [ ! -f build/dev/build.ninja ]; then
  cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" >/dev/null
fi
cmake --build build/dev -j 2
for so in build/dev/_native*.so; do
  tmp=$(mktemp python/convengine/.tmp.XXXXXX); cp "$so" "$tmp"; mv -f "$tmp" "python/convengine/$(basename "$so")"
done
for so in build/dev/*.so; do
  case "$(basename "$so")" in _native*) continue;; esac
  tmp=$(mktemp python/convengine/reference/.tmp.XXXXXX); cp "$so" "$tmp"; mv -f "$tmp" "python/convengine/reference/$(basename "$so")"
done
