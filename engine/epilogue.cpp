#include "engine/epilogue.h"

#include <stdexcept>

#include "engine/dispatch.h"

namespace ce {

namespace {
constexpr const char* kNames[kNumActKinds] = {
    "none",      "hardswish", "hardsigmoid", "sigmoid", "silu", "tanh",     "leaky_relu",
    "gelu",      "gelu_tanh", "mish",        "softplus", "elu", "selu",     "celu",
    "softsign",  "thresholded_relu"};
}

ActKind parse_act_kind(const std::string& name) {
  for (int i = 0; i < kNumActKinds; ++i)
    if (name == kNames[i]) return static_cast<ActKind>(i);
  std::string all;
  for (const char* n : kNames) all += std::string(all.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown activation '" + name + "' (" + all + ")");
}

const char* act_kind_name(ActKind kind) { return kNames[static_cast<int>(kind)]; }

Epilogue::Epilogue(const Activation& act, Isa isa)
    : act_(act),
      clamp_(act.clamp()),
      no_clamp_(Activation{}.clamp()),
      params_{static_cast<int>(act.kind), act.alpha, act.beta, act.min, act.max},
      fn_(epilogue_kernel(static_cast<int>(act.kind), isa)) {
  if (!(act.min <= act.max)) throw std::invalid_argument("activation clamp: min must be <= max");
  if (act.kind == ActKind::kCelu && !(act.alpha != 0.0f))
    throw std::invalid_argument("celu: alpha must not be 0");
  if (static_cast<int>(act.kind) < 0 || static_cast<int>(act.kind) >= kNumActKinds)
    throw std::invalid_argument("unknown activation kind");
}

}  // namespace ce
