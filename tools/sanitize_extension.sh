#!/usr/bin/env bash
# The Python extension under AddressSanitizer + UndefinedBehaviorSanitizer: builds _native (the
# kernels, the runtime and the C API it carries) and the Cython reference with
# -fsanitize=address,undefined into a separate build directory (build/asan), copies the package
# with those modules into a temporary directory (never into python/), and runs a subset of the
# test suite against it with libasan preloaded into Python.
#
#     bash tools/sanitize_extension.sh                  # the subset below
#     bash tools/sanitize_extension.sh tests/test_x.py  # other pytest arguments instead
#
# The subset: kernels (conv without the torch comparisons, depthwise), the session, and the
# hostile-input tests (graphs, model files, compiled files, the fuzz test, whose worker
# processes inherit the sanitizer). -k "not torch" applies to all of them. On 2 cores: the
# build about 12 minutes from scratch, the tests about 2-5 minutes. Python leaks by
# design, so leak detection is off; any other ASan report or any UBSan report aborts the run.
# Models that ask for terabytes must get MemoryError, not an ASan abort on the allocation size.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${CE_ASAN_BUILD:-build/asan}
start=$SECONDS

# The build tools pyproject.toml names (pip's isolated build has them; a plain venv may not).
python -c "import pybind11, Cython" 2>/dev/null || pip install -q "pybind11>=2.12" "Cython>=3.0"
command -v cmake >/dev/null || pip install -q cmake
command -v ninja >/dev/null || pip install -q ninja

flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
if [ ! -f "$out/build.ninja" ]; then
  cmake -S . -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DCMAKE_MODULE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DPython_EXECUTABLE="$(command -v python)" -Dpybind11_DIR="$(python -m pybind11 --cmakedir)" >/dev/null
fi
cmake --build "$out" -j "${CE_JOBS:-2}"
echo "sanitize_extension: build $((SECONDS - start)) s"

pkg=$(mktemp -d)
trap 'rm -rf "$pkg"' EXIT
cp -r python/convengine "$pkg/"
find "$pkg/convengine" -name '*.so' -delete
cp "$out"/_native*.so "$pkg/convengine/"
for so in "$out"/*.so; do
  case "$(basename "$so")" in _native*) ;; *) cp "$so" "$pkg/convengine/reference/";; esac
done

libasan=$("${CXX:-g++}" -print-file-name=libasan.so)
[ -f "$libasan" ] || { echo "sanitize_extension: no libasan.so ($libasan)" >&2; exit 1; }
# libstdc++ too: Python is C, so without it ASan resolves __cxa_throw before libstdc++ is loaded
# and the first C++ exception aborts ("real___cxa_throw != 0").
libstdcxx=$(readlink -f "$("${CXX:-g++}" -print-file-name=libstdc++.so)")
export LD_PRELOAD="$libasan $libstdcxx"
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=4096:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export PYTHONPATH=$pkg
# The run must use the sanitized modules, not an installed or in-tree copy.
python - "$pkg" <<'EOF'
import sys
import convengine._native as n, convengine.reference._ref_conv as r
for m in (n, r):
    assert m.__file__.startswith(sys.argv[1]), f"{m.__name__} loaded from {m.__file__}"
EOF

if [ $# -eq 0 ]; then
  set -- tests/test_conv.py -k "not torch" tests/test_depthwise.py tests/test_session.py \
    tests/test_hostile_graph.py tests/test_model_format.py tests/test_compiled.py \
    tests/test_fuzz.py
fi
t0=$SECONDS
python -m pytest -q -p no:cacheprovider "$@"
echo "sanitize_extension: tests $((SECONDS - t0)) s, total $((SECONDS - start)) s"
