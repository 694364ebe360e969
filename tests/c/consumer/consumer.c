/* Links against an installed convengine and calls it: prints the version and checks that a
   missing file is reported as CE_IO_ERROR. */
#include <convengine.h>
#include <stdio.h>

int main(void) {
  ce_model* m = NULL;
  ce_status* s = ce_model_load("/nonexistent/model.cem", &m);
  int ok = ce_status_code(s) == CE_IO_ERROR && m == NULL;
  printf("convengine %s, %d threads: %s\n", ce_version(), ce_get_num_threads(),
         ok ? "ok" : ce_status_message(s));
  ce_status_free(s);
  return ok ? 0 : 1;
}
