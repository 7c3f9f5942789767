/* devrun across several nodes (--nodes N, --torchrun): the run's Job becomes
 * an Indexed Job (completions = parallelism = N) whose pods find each other
 * through a headless Service owned by the Job, the shape Kubernetes
 * documents for Indexed Jobs that talk to each other.  Pure functions of the
 * options, like devrun_job.h, so `devrun render` shows what is submitted. */
#ifndef EIDF_DEVRUN_MULTINODE_H
#define EIDF_DEVRUN_MULTINODE_H

#include <cjson/cJSON.h>

struct devrun_opts;

#define DEVRUN_DEFAULT_MASTER_PORT 29500
#define DEVRUN_MAX_NODES 64
/* the port's name in the Service */
#define DEVRUN_MASTER_PORT_NAME "rendezvous"
/* env of the main container: the Job's name (a pod label), for MASTER_ADDR */
#define DEVRUN_ENV_JOB "EIDF_JOB_NAME"
#define ANNOT_COMPLETION_INDEX "batch.kubernetes.io/job-completion-index"

/* More than one pod, or torchrun: the Indexed Job and its Service. */
int devrun_is_multinode(const struct devrun_opts *o);
long devrun_nodes(const struct devrun_opts *o);
long devrun_master_port(const struct devrun_opts *o);

/* --nodes/--torchrun/--master-port against the other options (-1 + error). */
int devrun_multinode_check(const struct devrun_opts *o);

/* The headless Service's name (also the pods' spec.subdomain): known before
 * the Job exists, whose name the server generates.  Caller frees. */
char *devrun_service_name(const struct devrun_opts *o, const char *run_id);

/* Make the Job built by devrun_job_manifest() an Indexed Job of N pods with
 * MASTER_ADDR, MASTER_PORT, WORLD_SIZE, NNODES, NODE_RANK, NPROC_PER_NODE
 * in the main container, and COMMAND under torchrun with --torchrun. */
void devrun_multinode_job(cJSON *job, const struct devrun_opts *o, const char *run_id);

/* The headless Service (clusterIP None, publishNotReadyAddresses) that
 * selects the run's pods.  devrun_own_by_job() adds the ownerReference once
 * the Job exists, so the garbage collector deletes it with the Job. */
cJSON *devrun_multinode_service(const struct devrun_opts *o, const char *run_id);
void devrun_own_by_job(cJSON *obj, const char *job_name, const char *job_uid);

#endif
