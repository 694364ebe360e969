// Plan steps of the data movement and sampling ops (methods of _native.Plan).
#include "plan_binding.h"

namespace ce::bind {

void bind_plan_data(PlanClass& cls) { (void)cls; }

}  // namespace ce::bind
