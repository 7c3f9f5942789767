/* The Job as a command that waited on it leaves it, for -o json|yaml|name. */
#ifndef EIDF_JOB_FINAL_H
#define EIDF_JOB_FINAL_H

#include <cjson/cJSON.h>

struct kclient;

/* The Job NAME as it is now, except that a Job whose pods have ended but
 * whose end the job controller has not recorded yet (jobstate Completing or
 * Failing: it lags behind the pods) is waited for until it says Complete or
 * Failed, at most timeout_ms: printed earlier, the object would still say
 * active.  NULL with the error set when it cannot be read (caller frees). */
cJSON *job_final_object(struct kclient *kc, const char *ns, const char *name, long timeout_ms);

#endif
