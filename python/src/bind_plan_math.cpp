// Plan steps of the element-wise math and activations ops (methods of _native.Plan).
#include "plan_binding.h"

namespace ce::bind {

void bind_plan_math(PlanClass& cls) { (void)cls; }

}  // namespace ce::bind
