#include "common.h"

namespace ce::bind {

void bind_deform(py::module_& m) {}

}  // namespace ce::bind
