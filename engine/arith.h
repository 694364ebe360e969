// Integer helpers the op drivers share (tile counts, padded sizes, window arithmetic).
#pragma once
#include <cstddef>
#include <cstdint>

namespace ce {

constexpr size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }
constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
constexpr size_t round_up(size_t a, size_t b) { return ceil_div(a, b) * b; }
// Floor of a / b for a of any sign and b > 0 (torch's div_rtn).
constexpr int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace ce
