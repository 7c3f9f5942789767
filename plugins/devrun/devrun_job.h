/* The objects of one devrun: the Job (init container that fetches the code,
 * main container that runs the command) and the Secret with the local
 * changes.  Pure functions of the options, so `devrun render` and the tests
 * see exactly what `devrun` submits. */
#ifndef EIDF_DEVRUN_JOB_H
#define EIDF_DEVRUN_JOB_H

#include <cjson/cJSON.h>
#include "eidf/util.h"

struct changes;

#define DEVRUN_CODE_DIR "/code"
#define DEVRUN_CHANGES_DIR "/eidf/changes"
#define DEVRUN_GIT_SECRET_DIR "/eidf/git-secret"
#define DEVRUN_MAIN_CONTAINER "main"
#define DEVRUN_INIT_CONTAINER "code"
#define DEVRUN_DEFAULT_GIT_IMAGE "alpine/git:latest"
#define DEVRUN_DEFAULT_PVC_MOUNT "/mnt/ceph"
#define ANNOT_DEVRUN_OPTIONS "eidf.ac.uk/devrun-options"
#define ANNOT_COMMIT "eidf.ac.uk/commit"
#define ANNOT_REPO "eidf.ac.uk/repo"
#define ANNOT_DIRTY "eidf.ac.uk/dirty"
/* when devrun made the Job, in milliseconds since the epoch: orders runs
 * made within one second (creationTimestamp has whole seconds) */
#define ANNOT_CREATED_MS "eidf.ac.uk/created-ms"
#define ANNOT_CHANGES "eidf.ac.uk/changes"
#define ANNOT_CHANGES_TRANSPORT "eidf.ac.uk/changes-transport"
/* exec transport: how long the init container waits for the upload */
#define DEVRUN_CHANGES_WAIT_S 600

/* Everything the user chose (flags, then .eidf.yaml, then user config).
 * Strings are borrowed; lists are owned. */
struct devrun_opts {
	const char *image;
	const char *git_image;
	struct strvec argv;          /* COMMAND ARGS... */
	int shell;                   /* run argv joined by spaces with /bin/sh -c */
	int keep_entrypoint;         /* argv goes to args, the image ENTRYPOINT runs it */
	long gpu;
	const char *gpu_product;
	const char *cpu, *cpu_limit, *memory, *memory_limit;
	struct strvec pvcs;          /* NAME[:MOUNT[:ro]] */
	struct strvec envs;          /* K=V */
	struct strvec env_from_secrets;
	struct strvec image_pull_secrets;
	const char *shm_size;
	long max_time_s;             /* 0: none */
	const char *name;            /* generateName prefix (without '-'); NULL: "devrun" */
	const char *queue;
	long ttl_s;                  /* <0: omit */
	const char *git_secret;
	const char *namespace;
	const char *eidf_user;
	const char *init_cpu, *init_memory;
	const char *changes_transport;   /* auto (NULL), secret or exec */
	int no_submodules;
	long nodes;                  /* --nodes: pods of an Indexed Job (0, 1: one pod) */
	int torchrun;                /* --torchrun: COMMAND runs under torchrun */
	long master_port;            /* MASTER_PORT (0: DEVRUN_DEFAULT_MASTER_PORT) */
};

/* Where the code comes from (repo_state + changes). */
struct devrun_code {
	const char *url;
	const char *commit;
	const char *ref;             /* branch for the fallback fetch, may be NULL */
	const char *tree;            /* expected tree (with local changes), may be NULL */
	const char *changes_secret;  /* Secret name with the changes, NULL: none */
	int changes_exec;            /* the changes come through `kubectl exec` instead */
	const char *submodules;      /* EIDF_SUBMODULES ("COMMIT TREE URL PATH" lines), may be NULL */
	int dirty;
	const char *changes_summary;
};

void devrun_opts_release(struct devrun_opts *o);

/* Validate option values (quantities, env syntax, PVC specs, GPU product,
 * name).  -1 with eidf_last_error() naming the flag. */
int devrun_opts_check(const struct devrun_opts *o, int allow_unknown_gpu_product);

/* "NAME[:MOUNT[:ro]]" -> parts (caller frees name and mount). */
int devrun_parse_pvc(const char *spec, char **name, char **mount, int *read_only);

/* The known product closest to `p` (case-insensitive edit distance), or NULL. */
char *devrun_gpu_did_you_mean(const char *p);

/* The Job.  run_id labels it; `script` is the init container's sh script. */
/* The text of a container script that runs git against the repository:
 * git-credentials.sh (git_credentials, for --git-secret) and then SCRIPT
 * (caller frees). */
char *devrun_git_script(const char *script);
/* --git-secret's Secret in CONTAINER (read-only) and EIDF_GIT_SECRET_DIR;
 * nothing without --git-secret.  The Job's volume comes with the manifest. */
void devrun_git_secret_mount(const struct devrun_opts *o, cJSON *container);

cJSON *devrun_job_manifest(const struct devrun_opts *o, const struct devrun_code *code,
			   const char *run_id, const char *script);

/* The Secret with the packed changes (generateName "<prefix>-code-"). */
cJSON *devrun_changes_secret(const struct devrun_opts *o, const struct changes *c,
			     const char *run_id);

/* The payload of the changes as an uncompressed tar of the Secret's keys
 * (exec transport); the init container unpacks it into its changes dir. */
int devrun_changes_stream(const struct changes *c, struct strbuf *out);
/* The command `kubectl exec` runs in the init container to receive that
 * tar: it checks the byte count and sha256 before unpacking. */
char *devrun_changes_receive_command(size_t size, const char *sha256);

/* Options <-> the JSON stored in ANNOT_DEVRUN_OPTIONS (for list and rerun).
 * from_json borrows strings from `j`, which must outlive `o`. */
char *devrun_opts_to_json(const struct devrun_opts *o);
int devrun_opts_from_json(const cJSON *j, struct devrun_opts *o);

/* A random run id: 10 lowercase alphanumerics (label-value safe). */
char *devrun_new_run_id(void);

#endif
