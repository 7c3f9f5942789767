/* build-context submit: an in-cluster Kaniko build of the reproducible
 * context, delivered through Secrets in <= 1 MiB chunks that an init
 * container reassembles and checks against the content digest. */
#ifndef EIDF_BC_SUBMIT_H
#define EIDF_BC_SUBMIT_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "eidf/options.h"

#define SUBMIT_DESCRIPTION \
	"Builds DIR's context (same archive and digest as `build-context`), stores it in " \
	"Secrets of at most " "900 KiB each, and creates a policy-compliant Job: an init " \
	"container joins the chunks and checks the sha256 of the tar, then a Kaniko executor " \
	"(a maintained fork; --builder-image or setting build-context.builder-image) builds " \
	"for linux/amd64 and pushes to --image with the docker config from --registry-secret " \
	"(see `build-context secret create`). The Secrets belong to the Job and go with it. " \
	"--follow (default) streams the build log and exits with its result."

#define SUBMIT_CHUNK (900 * 1024)
#define SUBMIT_DEFAULT_BUILDER "ghcr.io/osscontainertools/kaniko:latest"
#define SUBMIT_DEFAULT_HELPER "busybox:1.36"

extern const struct option submit_opts[];

struct eidf_cmd;
int run_submit(struct eidf_cmd *cmd, int argc, const char **argv);

struct submit_spec {
	const char *namespace;
	const char *run_id;          /* names and the run label */
	const char *image;           /* --destination */
	const char *dockerfile;      /* inside the context */
	const char *digest;          /* sha256 hex of the uncompressed tar */
	const char *builder_image;
	const char *helper_image;
	const char *registry_secret; /* NULL: anonymous push (rarely useful) */
	const char *cpu, *memory;
	const char *queue;           /* NULL: policy default */
	long ttl_seconds;
	int cache;
};

/* The chunk Secrets and the Job for a gzipped context, as a v1 List
 * (items: Secrets..., Job).  Pure: no API calls (unit-tested). */
cJSON *submit_objects(const struct submit_spec *s, const void *gz, size_t len);

#endif
