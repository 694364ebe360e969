#include "common.h"

namespace ce::bind {

void bind_local(py::module_& m) {}

}  // namespace ce::bind
