/* build-context submit: an in-cluster Kaniko build of the reproducible
 * context.  The context reaches the Job's init container either through
 * Secrets in <= 900 KiB chunks (small contexts) or streamed over
 * pods/exec (large ones; eidf/kexec_upload.h); either way the init container checks it
 * against the content digest before the executor runs. */
#ifndef EIDF_BC_SUBMIT_H
#define EIDF_BC_SUBMIT_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "eidf/options.h"

#define SUBMIT_DESCRIPTION \
	"Builds DIR's context (same archive and digest as `build-context`) and creates a " \
	"policy-compliant Job: an init container receives the context, either from Secrets of " \
	"at most 900 KiB each (contexts up to --max-context) or streamed over pods/exec " \
	"(larger contexts, or --transport exec), and checks the sha256 of the tar; then a Kaniko " \
	"executor (a maintained fork; --builder-image or setting build-context.builder-image) " \
	"builds for linux/amd64 and pushes to --image with the docker config from " \
	"--registry-secret (see `build-context secret create`). The Secrets belong to the Job " \
	"and go with it. --follow (default) streams the build log and exits with its result: " \
	"0, the executor's exit code, 124 when --timeout passed or the API server stayed away " \
	"for --reconnect-timeout, 130 on Ctrl-C (the build goes on; how to follow or cancel it " \
	"is printed)."

#define STATUS_DESCRIPTION \
	"Shows where a submitted build is (queued, receiving the context, building, done) and " \
	"why it failed. With --follow, streams the build log and exits with the executor's " \
	"exit code, like `submit --follow`; 124 when --timeout passed or the API server stayed " \
	"away for --reconnect-timeout, 130 on Ctrl-C (the build goes on; how to follow or " \
	"cancel it is printed)."

#define SUBMIT_CHUNK (900 * 1024)
#define SUBMIT_DEFAULT_BUILDER "ghcr.io/osscontainertools/kaniko:latest"
#define SUBMIT_DEFAULT_HELPER "busybox:1.36"
#define SUBMIT_RECEIVER "receive-context"

extern const struct option submit_opts[];
extern const struct option status_opts[];
extern const struct option list_opts[];

struct eidf_cmd;
int run_submit(struct eidf_cmd *cmd, int argc, const char **argv);
int run_status(struct eidf_cmd *cmd, int argc, const char **argv);
/* build-context list: recent builds of the namespace, newest first. */
int run_list(struct eidf_cmd *cmd, int argc, const char **argv);

struct submit_spec {
	const char *namespace;
	const char *run_id;          /* names and the run label */
	const char *image;           /* --destination */
	const char *dockerfile;      /* inside the context */
	const char *digest;          /* sha256 hex of the uncompressed tar */
	const char *builder_image;
	const char *helper_image;
	const char *const *executor_command; /* NULL: the image's entrypoint; else NULL-terminated argv */
	const char *registry_secret; /* NULL: anonymous push (rarely useful) */
	const char *cpu, *memory;
	const char *queue;           /* NULL: policy default */
	const char *eidf_user;       /* NULL: no eidf/user label */
	long ttl_seconds;
	int cache;
	int exec_transport;          /* 1: no Secrets; the init container waits for `kubectl exec` */
	long upload_timeout_s;       /* exec transport: how long the init container waits */
};

/* The chunk Secrets (none with exec_transport) and the Job for a gzipped
 * context, as a v1 List (items: Secrets..., Job).  Pure: no API calls. */
cJSON *submit_objects(const struct submit_spec *s, const void *gz, size_t len);

/* The remote shell command the exec upload runs in the init container:
 * stores `size` bytes of stdin as the context, then tells the waiting init
 * container (caller frees). */
char *submit_exec_receive_command(unsigned long long size);

#endif
