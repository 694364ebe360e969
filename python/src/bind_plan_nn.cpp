// Plan steps of the normalisation and reductions ops (methods of _native.Plan).
#include "plan_binding.h"

namespace ce::bind {

void bind_plan_nn(PlanClass& cls) { (void)cls; }

}  // namespace ce::bind
