// Placeholder until the direct depthwise kernels land: never selected.
#include "engine/depthwise.h"

#include <stdexcept>

namespace ce {

bool depthwise_applies(const ConvShape&) { return false; }

std::unique_ptr<ConvOp> make_depthwise_conv(const ConvShape& s, const float*, const float*,
                                            const Activation&) {
  throw std::invalid_argument("depthwise algorithm is not available for " + s.describe());
}

}  // namespace ce
