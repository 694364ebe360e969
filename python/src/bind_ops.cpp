#include "common.h"

namespace ce::bind {

void bind_ops(py::module_& m) {}

}  // namespace ce::bind
