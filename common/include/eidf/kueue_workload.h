/* What Kueue says about a Job it has not admitted yet. */
#ifndef EIDF_KUEUE_WORKLOAD_H
#define EIDF_KUEUE_WORKLOAD_H

struct kclient;

/* The message of the QuotaReserved=False condition of the Workload Kueue
 * made for the Job with uid job_uid ("couldn't assign flavors to pod set
 * main: insufficient quota ..."), found by Kueue's job-uid label; NULL when
 * there is none or the Workloads cannot be read (a tenant without the RBAC
 * only loses the detail).  Caller frees. */
char *kueue_pending_message(struct kclient *kc, const char *ns, const char *job_uid);

#endif
