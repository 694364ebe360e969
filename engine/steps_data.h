// Plan steps of the data-movement, sampling and shape-arithmetic ops (built by
// engine/build_data.cpp and build_core.cpp, lowered by python/convengine/_graph/lower_data.py).
// Expand, Tile, DepthToSpace and SpaceToDepth need no step of their own: they are views or
// strided copies (make_copy_step). A bool tensor computed at run time is a float mask of 0 / 1.
#pragma once
#include <memory>
#include <vector>

#include "engine/plan.h"

namespace ce {

// dst = src (one shape, any strides; dst must not overlap src unless it is src). Per image a
// (C, P) <-> (P, C) transpose (channels-first <-> channels-last) runs the blocked transpose.
std::unique_ptr<Step> make_copy_step(const TRef& src, const TRef& dst);
// dst = value everywhere.
std::unique_ptr<Step> make_fill_step(float value, const TRef& dst);

// Floor, Ceil, Round (half to even), Sign on any strides; Not on a 0/1 mask (1 - x).
enum class DataUnaryKind { kFloor, kCeil, kRound, kSign, kNot };
std::unique_ptr<Step> make_data_unary_step(DataUnaryKind kind, const TRef& x, const TRef& out);

// Comparisons give 0/1 masks; And, Or, Xor read masks (non-zero is true); Fmod is C's fmod
// (result has the sign of a), Mod the floor modulo (the sign of b). a and b are viewed with
// out's shape (broadcast axes have stride 0).
enum class DataBinaryKind {
  kEqual, kLess, kLessEqual, kGreater, kGreaterEqual, kAnd, kOr, kXor, kFmod, kMod
};
std::unique_ptr<Step> make_data_binary_step(DataBinaryKind kind, const TRef& a, const TRef& b,
                                            const TRef& out);

// out = cond != 0 ? x : y; cond, x and y viewed with out's shape.
std::unique_ptr<Step> make_where_step(const TRef& cond, const TRef& x, const TRef& y,
                                      const TRef& out);

// Running sum along `axis` (float32, in order), inclusive or exclusive, forward or reverse;
// any strides (out must not overlap x unless it is x).
std::unique_ptr<Step> make_cumsum_step(int axis, bool exclusive, bool reverse, const TRef& x,
                                       const TRef& out);

// out[j] = x[offsets[j]]: out contiguous, offsets in floats from x's first element (each must
// address an element of x). GatherElements and GatherND with constant indices.
std::unique_ptr<Step> make_index_gather_step(const TRef& x, const TRef& out,
                                             std::vector<int64_t> offsets);

// GridSample of a channels-last (N, C, H, W) or (N, C, D, H, W) input at the points of `grid`
// ((N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3), any strides; coordinates x, y(, z) in
// [-1, 1]) into a channels-last output, with onnxruntime's arithmetic: the pixel coordinate in
// float32, taps floor(x) + k, the padding mode applied to each tap's index.
enum class GridMode { kNearest, kLinear, kCubic };
enum class GridPadding { kZeros, kBorder, kReflection };
std::unique_ptr<Step> make_grid_sample_step(GridMode mode, GridPadding padding, bool align_corners,
                                            const TRef& x, const TRef& grid, const TRef& out);

}  // namespace ce
