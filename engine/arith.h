// Integer helpers the op drivers share (tile counts, padded sizes).
#pragma once
#include <cstddef>
#include <cstdint>

namespace ce {

constexpr size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }
constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
constexpr size_t round_up(size_t a, size_t b) { return ceil_div(a, b) * b; }

}  // namespace ce
