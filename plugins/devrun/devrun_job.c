#include "script_git_credentials.h"
#include "devrun_job.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "changes.h"
#include "multinode.h"
#include "eidf/manifest.h"
#include "eidf/quantity.h"
#include "eidf/settings.h"

void devrun_opts_release(struct devrun_opts *o)
{
	strvec_clear(&o->argv);
	strvec_clear(&o->pvcs);
	strvec_clear(&o->envs);
	strvec_clear(&o->env_from_secrets);
	strvec_clear(&o->image_pull_secrets);
}

int devrun_parse_pvc(const char *spec, char **name, char **mount, int *read_only)
{
	*name = *mount = NULL;
	*read_only = 0;
	const char *c1 = strchr(spec, ':');
	*name = c1 ? xstrndup(spec, (size_t)(c1 - spec)) : xstrdup(spec);
	if (!is_dns1123_subdomain(*name)) {
		eidf_set_error("--pvc %s: \"%s\" is not a valid PVC name (use NAME[:MOUNT[:ro]])", spec, *name);
		goto fail;
	}
	if (!c1) {
		*mount = xstrdup(DEVRUN_DEFAULT_PVC_MOUNT);
		return 0;
	}
	const char *m = c1 + 1;
	const char *c2 = strrchr(m, ':');
	if (c2 && (!strcmp(c2, ":ro") || !strcmp(c2, ":rw"))) {
		*read_only = !strcmp(c2, ":ro");
		*mount = xstrndup(m, (size_t)(c2 - m));
	} else {
		*mount = xstrdup(m);
	}
	if (!**mount) {
		free(*mount);
		*mount = xstrdup(DEVRUN_DEFAULT_PVC_MOUNT);
	}
	if (**mount != '/') {
		eidf_set_error("--pvc %s: mount path \"%s\" must be absolute", spec, *mount);
		goto fail;
	}
	if (!strcmp(*mount, DEVRUN_CODE_DIR) || starts_with(*mount, DEVRUN_CODE_DIR "/") ||
	    !strcmp(*mount, "/dev/shm")) {
		eidf_set_error("--pvc %s: %s is used by devrun; choose another mount path", spec, *mount);
		goto fail;
	}
	return 0;
fail:
	free(*name);
	free(*mount);
	*name = *mount = NULL;
	return -1;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row = xcalloc(lb + 1, sizeof(*row));
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	size_t d = row[lb];
	free(row);
	return d;
}

char *devrun_gpu_did_you_mean(const char *p)
{
	struct strvec known = STRVEC_INIT;
	gpu_products(&known);
	char *best = NULL;
	size_t bestd = (size_t)-1;
	for (size_t i = 0; i < known.n; i++) {
		size_t d = edit_distance(p, known.v[i]);
		/* substrings ("H100", "a100-80gb") count as close */
		if (strcasestr(known.v[i], p) && strlen(p) >= 3)
			d = 0;
		if (d < bestd) {
			bestd = d;
			free(best);
			best = xstrdup(known.v[i]);
		}
	}
	strvec_clear(&known);
	if (best && bestd > strlen(p) / 2 + 3) {
		free(best);
		best = NULL;
	}
	return best;
}

static int check_quantity(const char *flag, const char *v)
{
	if (v && !quantity_valid(v)) {
		eidf_set_error("invalid value \"%s\" for --%s: not a Kubernetes quantity (e.g. 4, 500m, 8Gi)",
			       v, flag);
		return -1;
	}
	return 0;
}

static int env_name_ok(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(isalnum(c) || c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return !isdigit((unsigned char)s[0]);
}

int devrun_opts_check(const struct devrun_opts *o, int allow_unknown_gpu_product)
{
	if (!o->image || !*o->image) {
		eidf_set_error("no image: pass --image IMAGE, or set devrun.image in .eidf.yaml or %s",
			       "the user config");
		return -1;
	}
	if (!o->argv.n) {
		eidf_set_error("no command: give it after \"--\", e.g. kubectl eidf devrun --image IMAGE -- python train.py");
		return -1;
	}
	if (check_quantity("cpu", o->cpu) || check_quantity("cpu-limit", o->cpu_limit) ||
	    check_quantity("memory", o->memory) || check_quantity("memory-limit", o->memory_limit) ||
	    check_quantity("shm-size", o->shm_size))
		return -1;
	if (o->gpu < 0 || o->gpu > 8) {
		eidf_set_error("--gpu %ld: a pod can use 0 to 8 GPUs on the EIDF GPU service", o->gpu);
		return -1;
	}
	if (o->gpu_product && !allow_unknown_gpu_product) {
		struct strvec known = STRVEC_INIT;
		gpu_products(&known);
		int ok = strvec_contains(&known, o->gpu_product);
		strvec_clear(&known);
		if (!ok) {
			char *dym = devrun_gpu_did_you_mean(o->gpu_product);
			if (dym)
				eidf_set_error("unknown GPU product \"%s\": did you mean %s? (pods asking for an "
					       "unknown product are never scheduled; --allow-unknown-gpu-product "
					       "skips this check)", o->gpu_product, dym);
			else
				eidf_set_error("unknown GPU product \"%s\" (see `kubectl eidf devrun --gpu-product "
					       "<TAB>`; --allow-unknown-gpu-product skips this check)", o->gpu_product);
			free(dym);
			return -1;
		}
	}
	struct strvec mounts = STRVEC_INIT;
	for (size_t i = 0; i < o->pvcs.n; i++) {
		char *name, *mount;
		int ro;
		if (devrun_parse_pvc(o->pvcs.v[i], &name, &mount, &ro) < 0) {
			strvec_clear(&mounts);
			return -1;
		}
		int dup = strvec_contains(&mounts, mount);
		if (dup)
			eidf_set_error("--pvc %s: %s is already a mount point; give each PVC its own "
				       "(NAME:MOUNT)", o->pvcs.v[i], mount);
		strvec_push_owned(&mounts, mount);
		free(name);
		if (dup) {
			strvec_clear(&mounts);
			return -1;
		}
	}
	strvec_clear(&mounts);
	for (size_t i = 0; i < o->envs.n; i++) {
		const char *eq = strchr(o->envs.v[i], '=');
		if (!eq || !env_name_ok(o->envs.v[i], (size_t)(eq - o->envs.v[i]))) {
			eidf_set_error("--env %s: use NAME=VALUE with a valid variable name", o->envs.v[i]);
			return -1;
		}
	}
	const struct strvec *names[] = { &o->env_from_secrets, &o->image_pull_secrets };
	const char *flags[] = { "env-from-secret", "image-pull-secret" };
	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < names[k]->n; i++)
			if (!is_dns1123_subdomain(names[k]->v[i])) {
				eidf_set_error("--%s %s: not a valid Secret name", flags[k], names[k]->v[i]);
				return -1;
			}
	if (o->changes_transport && strcmp(o->changes_transport, "auto") &&
	    strcmp(o->changes_transport, "secret") && strcmp(o->changes_transport, "exec")) {
		eidf_set_error("invalid value \"%s\" for --changes-transport: use auto, secret or exec",
			       o->changes_transport);
		return -1;
	}
	if (o->git_secret && !is_dns1123_subdomain(o->git_secret)) {
		eidf_set_error("--git-secret %s: not a valid Secret name", o->git_secret);
		return -1;
	}
	if (o->name && (!is_dns1123_label(o->name) || strlen(o->name) > 40)) {
		eidf_set_error("--name %s: use lowercase letters, digits and '-' (at most 40 characters)", o->name);
		return -1;
	}
	return devrun_multinode_check(o);
}

static void add_strings(cJSON *obj, const char *key, const struct strvec *v)
{
	cJSON *a = cJSON_AddArrayToObject(obj, key);
	for (size_t i = 0; i < v->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v->v[i]));
}

static cJSON *secret_volume(const char *name, const char *secret, int mode)
{
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "name", name);
	cJSON *s = cJSON_AddObjectToObject(v, "secret");
	cJSON_AddStringToObject(s, "secretName", secret);
	cJSON_AddNumberToObject(s, "defaultMode", mode);
	return v;
}

char *devrun_git_script(const char *script)
{
	return xasprintf("#!/bin/sh\n%s\n%s", script_git_credentials, script);
}

void devrun_git_secret_mount(const struct devrun_opts *o, cJSON *container)
{
	if (!o->git_secret)
		return;
	manifest_add_env(container, "EIDF_GIT_SECRET_DIR", DEVRUN_GIT_SECRET_DIR);
	manifest_add_mount(container, "git-secret", DEVRUN_GIT_SECRET_DIR, 1);
}

cJSON *devrun_job_manifest(const struct devrun_opts *o, const struct devrun_code *code,
			   const char *run_id, const char *script)
{
	struct job_policy pol = {
		.namespace = o->namespace,
		.queue = o->queue,
		.eidf_user = o->eidf_user,
		.stage = "devrun",
		.run_id = run_id,
		.ttl_seconds = o->ttl_s,
		.backoff_limit = 0, /* a failed command is a result, not a reason to run it again */
	};
	char *prefix = xasprintf("%s-", o->name ? o->name : "devrun");
	cJSON *job = manifest_job(&pol, prefix);
	free(prefix);
	if (o->max_time_s > 0) {
		char *s = xasprintf("%ld", o->max_time_s);
		manifest_set_label(job, LABEL_MAX_EXEC_TIME, s);
		free(s);
	}
	char *opts = devrun_opts_to_json(o);
	manifest_set_annotation(job, ANNOT_DEVRUN_OPTIONS, opts);
	free(opts);
	manifest_set_annotation(job, ANNOT_COMMIT, code->commit);
	char *shown = xstrdup(code->url);
	/* never store credentials embedded in a URL in an annotation */
	char *p = strstr(shown, "://");
	if (p) {
		char *at = strchr(p + 3, '@'), *slash = strchr(p + 3, '/');
		if (at && (!slash || at < slash))
			memmove(p + 3, at + 1, strlen(at + 1) + 1);
	}
	manifest_set_annotation(job, ANNOT_REPO, shown);
	free(shown);
	manifest_set_annotation(job, ANNOT_DIRTY, code->dirty ? "true" : "false");
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char *ms = xasprintf("%lld", (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	manifest_set_annotation(job, ANNOT_CREATED_MS, ms);
	free(ms);
	if (code->changes_summary)
		manifest_set_annotation(job, ANNOT_CHANGES, code->changes_summary);
	if (code->changes_secret || code->changes_exec)
		manifest_set_annotation(job, ANNOT_CHANGES_TRANSPORT, code->changes_exec ? "exec" : "secret");

	/* init container: fetch the commit, apply the changes */
	struct container_resources ires = {
		.cpu_request = o->init_cpu ? o->init_cpu : "1",
		.memory_request = o->init_memory ? o->init_memory : "1Gi",
	};
	cJSON *init = manifest_container(DEVRUN_INIT_CONTAINER,
					 o->git_image ? o->git_image : DEVRUN_DEFAULT_GIT_IMAGE, &ires);
	cJSON *cmd = cJSON_AddArrayToObject(init, "command");
	cJSON_AddItemToArray(cmd, cJSON_CreateString("/bin/sh"));
	cJSON_AddItemToArray(cmd, cJSON_CreateString("-c"));
	char *text = script ? devrun_git_script(script) : xstrdup("exit 1");
	cJSON_AddItemToArray(cmd, cJSON_CreateString(text));
	free(text);
	cJSON_AddItemToArray(cmd, cJSON_CreateString("init-code"));
	manifest_add_env(init, "EIDF_REPO_URL", code->url);
	manifest_add_env(init, "EIDF_COMMIT", code->commit);
	if (code->ref)
		manifest_add_env(init, "EIDF_REF", code->ref);
	manifest_add_env(init, "EIDF_CODE_DIR", DEVRUN_CODE_DIR);
	int has_changes = code->changes_secret || code->changes_exec;
	if (has_changes)
		manifest_add_env(init, "EIDF_CHANGES_DIR", DEVRUN_CHANGES_DIR);
	if (code->changes_exec) {
		char *w = xasprintf("%d", DEVRUN_CHANGES_WAIT_S);
		manifest_add_env(init, "EIDF_CHANGES_WAIT", w);
		free(w);
	}
	if (code->tree)
		manifest_add_env(init, "EIDF_TREE", code->tree);
	if (code->submodules && *code->submodules)
		manifest_add_env(init, "EIDF_SUBMODULES", code->submodules);
	manifest_add_mount(init, "code", DEVRUN_CODE_DIR, 0);
	if (has_changes) /* written by the upload with the exec transport */
		manifest_add_mount(init, "changes", DEVRUN_CHANGES_DIR, !code->changes_exec);
	devrun_git_secret_mount(o, init);
	manifest_add_container(job, init, 1);

	/* main container */
	struct container_resources res = {
		.cpu_request = o->cpu ? o->cpu : "1",
		.cpu_limit = o->cpu_limit,
		.memory_request = o->memory ? o->memory : "4Gi",
		.memory_limit = o->memory_limit,
		.gpus = o->gpu,
	};
	cJSON *c = manifest_container(DEVRUN_MAIN_CONTAINER, o->image, &res);
	if (o->shell) {
		struct strbuf joined = STRBUF_INIT;
		for (size_t i = 0; i < o->argv.n; i++)
			strbuf_addf(&joined, "%s%s", i ? " " : "", o->argv.v[i]);
		cJSON *cm = cJSON_AddArrayToObject(c, "command");
		cJSON_AddItemToArray(cm, cJSON_CreateString("/bin/sh"));
		cJSON_AddItemToArray(cm, cJSON_CreateString("-c"));
		cJSON *args = cJSON_AddArrayToObject(c, "args");
		cJSON_AddItemToArray(args, cJSON_CreateString(joined.buf));
		strbuf_release(&joined);
	} else if (o->keep_entrypoint) {
		add_strings(c, "args", &o->argv);
	} else {
		/* COMMAND replaces the image's entrypoint; ARGS stay an argv array */
		cJSON *cm = cJSON_AddArrayToObject(c, "command");
		cJSON_AddItemToArray(cm, cJSON_CreateString(o->argv.v[0]));
		cJSON *args = cJSON_AddArrayToObject(c, "args");
		for (size_t i = 1; i < o->argv.n; i++)
			cJSON_AddItemToArray(args, cJSON_CreateString(o->argv.v[i]));
	}
	cJSON_AddStringToObject(c, "workingDir", DEVRUN_CODE_DIR);
	manifest_add_env(c, "EIDF_RUN", run_id);
	manifest_add_env(c, "EIDF_COMMIT", code->commit);
	for (size_t i = 0; i < o->envs.n; i++) {
		const char *eq = strchr(o->envs.v[i], '=');
		char *k = xstrndup(o->envs.v[i], (size_t)(eq - o->envs.v[i]));
		manifest_add_env(c, k, eq + 1);
		free(k);
	}
	if (o->env_from_secrets.n) {
		cJSON *ef = cJSON_AddArrayToObject(c, "envFrom");
		for (size_t i = 0; i < o->env_from_secrets.n; i++) {
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "secretRef"), "name",
						o->env_from_secrets.v[i]);
			cJSON_AddItemToArray(ef, e);
		}
	}
	manifest_add_mount(c, "code", DEVRUN_CODE_DIR, 0);
	manifest_add_volume(job, manifest_volume_empty_dir("code", NULL, NULL));
	if (code->changes_exec)
		manifest_add_volume(job, manifest_volume_empty_dir("changes", NULL, NULL));
	else if (code->changes_secret)
		manifest_add_volume(job, secret_volume("changes", code->changes_secret, 0444));
	if (o->git_secret)
		manifest_add_volume(job, secret_volume("git-secret", o->git_secret, 0400));
	for (size_t i = 0; i < o->pvcs.n; i++) {
		char *name, *mount;
		int ro;
		if (devrun_parse_pvc(o->pvcs.v[i], &name, &mount, &ro) < 0)
			continue; /* checked by devrun_opts_check */
		char *vol = xasprintf("pvc-%zu", i);
		manifest_add_volume(job, manifest_volume_pvc(vol, name, ro));
		manifest_add_mount(c, vol, mount, ro);
		free(vol);
		free(name);
		free(mount);
	}
	if (o->shm_size) {
		manifest_add_volume(job, manifest_volume_empty_dir("dshm", "Memory", o->shm_size));
		manifest_add_mount(c, "dshm", "/dev/shm", 0);
	}
	manifest_add_container(job, c, 0);
	if (devrun_is_multinode(o))
		devrun_multinode_job(job, o, run_id); /* Indexed, rank env, torchrun */

	cJSON *ps = manifest_pod_spec(job);
	if (o->gpu_product) {
		cJSON *ns = cJSON_AddObjectToObject(ps, "nodeSelector");
		cJSON_AddStringToObject(ns, "nvidia.com/gpu.product", o->gpu_product);
	}
	if (o->image_pull_secrets.n) {
		cJSON *ips = cJSON_AddArrayToObject(ps, "imagePullSecrets");
		for (size_t i = 0; i < o->image_pull_secrets.n; i++) {
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "name", o->image_pull_secrets.v[i]);
			cJSON_AddItemToArray(ips, e);
		}
	}
	return job;
}

cJSON *devrun_changes_secret(const struct devrun_opts *o, const struct changes *c,
			     const char *run_id)
{
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "apiVersion", "v1");
	cJSON_AddStringToObject(s, "kind", "Secret");
	cJSON *md = cJSON_AddObjectToObject(s, "metadata");
	char *gn = xasprintf("%s-code-", o->name ? o->name : "devrun");
	cJSON_AddStringToObject(md, "generateName", gn);
	free(gn);
	if (o->namespace)
		cJSON_AddStringToObject(md, "namespace", o->namespace);
	cJSON *labels = cJSON_AddObjectToObject(md, "labels");
	cJSON_AddStringToObject(labels, LABEL_MANAGED_BY, MANAGED_BY);
	cJSON_AddStringToObject(labels, LABEL_STAGE, "devrun");
	if (run_id)
		cJSON_AddStringToObject(labels, LABEL_RUN, run_id);
	cJSON_AddStringToObject(s, "type", "Opaque");
	cJSON *data = cJSON_AddObjectToObject(s, "data");
	char *b = base64_encode(c->tar_gz.buf ? c->tar_gz.buf : "", c->tar_gz.len);
	cJSON_AddStringToObject(data, CHANGES_TAR_KEY, b);
	free(b);
	b = base64_encode(c->deleted.buf ? c->deleted.buf : "", c->deleted.len);
	cJSON_AddStringToObject(data, CHANGES_DELETED_KEY, b);
	free(b);
	for (size_t i = 0; i < c->n_subs; i++) {
		if (!c->subs[i].deleted.len)
			continue;
		char *k = xasprintf(CHANGES_DELETED_KEY ".%zu", i + 1);
		b = base64_encode(c->subs[i].deleted.buf, c->subs[i].deleted.len);
		cJSON_AddStringToObject(data, k, b);
		free(b);
		free(k);
	}
	return s;
}

static la_ssize_t stream_write(struct archive *a, void *ud, const void *buf, size_t len)
{
	(void)a;
	strbuf_add(ud, buf, len);
	return (la_ssize_t)len;
}

static int stream_add(struct archive *a, const char *name, const struct strbuf *data)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_copy_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)data->len);
	int ok = archive_write_header(a, e) == ARCHIVE_OK &&
		 (!data->len || archive_write_data(a, data->buf, data->len) == (la_ssize_t)data->len);
	archive_entry_free(e);
	if (!ok)
		eidf_set_error("cannot pack the local changes for kubectl exec: %s", archive_error_string(a));
	return ok ? 0 : -1;
}

int devrun_changes_stream(const struct changes *c, struct strbuf *out)
{
	struct archive *a = archive_write_new();
	int ret = -1;
	strbuf_reset(out);
	archive_write_set_format_ustar(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open2(a, out, NULL, stream_write, NULL, NULL) != ARCHIVE_OK) {
		eidf_set_error("cannot pack the local changes for kubectl exec: %s", archive_error_string(a));
		goto out;
	}
	if (stream_add(a, CHANGES_TAR_KEY, &c->tar_gz) < 0 || stream_add(a, CHANGES_DELETED_KEY, &c->deleted) < 0)
		goto out;
	for (size_t i = 0; i < c->n_subs; i++) {
		if (!c->subs[i].deleted.len)
			continue;
		char *k = xasprintf(CHANGES_DELETED_KEY ".%zu", i + 1);
		int rc = stream_add(a, k, &c->subs[i].deleted);
		free(k);
		if (rc < 0)
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		eidf_set_error("cannot pack the local changes for kubectl exec: %s", archive_error_string(a));
		goto out;
	}
	ret = 0;
out:
	archive_write_free(a);
	return ret;
}

char *devrun_changes_receive_command(size_t size, const char *sha256)
{
	/* .complete is written only after the count, the digest and the
	 * unpacking succeeded: the init container never applies half a stream.
	 * head -c: the stream's stdin cannot be closed under the v4 exec
	 * protocol, so the command stops at the size, not at EOF. */
	return xasprintf("set -e; d=" DEVRUN_CHANGES_DIR "; p=$d/.stream; head -c %zu >\"$p\"; "
			 "n=$(wc -c <\"$p\"); n=$((n)); "
			 "if [ \"$n\" -ne %zu ]; then echo \"error: received $n of %zu bytes\" >&2; exit 3; fi; "
			 "s=$(sha256sum \"$p\"); s=${s%%%% *}; "
			 "if [ \"$s\" != %s ]; then echo \"error: sha256 $s, expected %s\" >&2; exit 3; fi; "
			 "tar -xf \"$p\" -C \"$d\"; rm -f \"$p\"; : >\"$d/.complete\"; "
			 "echo \"received $n bytes, sha256 $s\"",
			 size, size, size, sha256, sha256);
}

/* ---- options annotation ------------------------------------------------------ */

static void put_str(cJSON *j, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(j, k, v);
}

static void put_list(cJSON *j, const char *k, const struct strvec *v)
{
	if (v->n)
		add_strings(j, k, v);
}

char *devrun_opts_to_json(const struct devrun_opts *o)
{
	cJSON *j = cJSON_CreateObject();
	put_str(j, "image", o->image);
	put_str(j, "gitImage", o->git_image);
	add_strings(j, "command", &o->argv);
	if (o->shell)
		cJSON_AddBoolToObject(j, "shell", 1);
	if (o->keep_entrypoint)
		cJSON_AddBoolToObject(j, "keepEntrypoint", 1);
	if (o->gpu)
		cJSON_AddNumberToObject(j, "gpu", (double)o->gpu);
	put_str(j, "gpuProduct", o->gpu_product);
	put_str(j, "cpu", o->cpu);
	put_str(j, "cpuLimit", o->cpu_limit);
	put_str(j, "memory", o->memory);
	put_str(j, "memoryLimit", o->memory_limit);
	put_list(j, "pvc", &o->pvcs);
	put_list(j, "env", &o->envs);
	put_list(j, "envFromSecret", &o->env_from_secrets);
	put_list(j, "imagePullSecret", &o->image_pull_secrets);
	put_str(j, "shmSize", o->shm_size);
	if (o->max_time_s)
		cJSON_AddNumberToObject(j, "maxTimeSeconds", (double)o->max_time_s);
	put_str(j, "name", o->name);
	put_str(j, "queue", o->queue);
	if (o->ttl_s >= 0)
		cJSON_AddNumberToObject(j, "ttlSeconds", (double)o->ttl_s);
	put_str(j, "gitSecret", o->git_secret);
	put_str(j, "changesTransport", o->changes_transport);
	if (o->no_submodules)
		cJSON_AddBoolToObject(j, "noSubmodules", 1);
	if (o->nodes > 1)
		cJSON_AddNumberToObject(j, "nodes", (double)o->nodes);
	if (o->torchrun)
		cJSON_AddBoolToObject(j, "torchrun", 1);
	if (o->master_port)
		cJSON_AddNumberToObject(j, "masterPort", (double)o->master_port);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	char *out = xstrdup(s);
	cJSON_free(s);
	return out;
}

static const char *get_str(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void get_list(const cJSON *j, const char *k, struct strvec *out)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, k), *e;
	cJSON_ArrayForEach(e, a)
		if (cJSON_IsString(e))
			strvec_push(out, e->valuestring);
}

int devrun_opts_from_json(const cJSON *j, struct devrun_opts *o)
{
	if (!cJSON_IsObject(j)) {
		eidf_set_error("the run's %s annotation is not a JSON object", ANNOT_DEVRUN_OPTIONS);
		return -1;
	}
	o->image = get_str(j, "image");
	o->git_image = get_str(j, "gitImage");
	get_list(j, "command", &o->argv);
	o->shell = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "shell"));
	o->keep_entrypoint = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "keepEntrypoint"));
	o->gpu = json_long(j, "gpu", 0);
	o->gpu_product = get_str(j, "gpuProduct");
	o->cpu = get_str(j, "cpu");
	o->cpu_limit = get_str(j, "cpuLimit");
	o->memory = get_str(j, "memory");
	o->memory_limit = get_str(j, "memoryLimit");
	get_list(j, "pvc", &o->pvcs);
	get_list(j, "env", &o->envs);
	get_list(j, "envFromSecret", &o->env_from_secrets);
	get_list(j, "imagePullSecret", &o->image_pull_secrets);
	o->shm_size = get_str(j, "shmSize");
	o->max_time_s = json_long(j, "maxTimeSeconds", 0);
	o->name = get_str(j, "name");
	o->queue = get_str(j, "queue");
	o->ttl_s = json_long(j, "ttlSeconds", -1);
	o->git_secret = get_str(j, "gitSecret");
	o->changes_transport = get_str(j, "changesTransport");
	o->no_submodules = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "noSubmodules"));
	o->nodes = json_long(j, "nodes", 0);
	o->torchrun = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "torchrun"));
	o->master_port = json_long(j, "masterPort", 0);
	return 0;
}

char *devrun_new_run_id(void)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char raw[10];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, raw, sizeof(raw)) : -1;
	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)sizeof(raw)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		unsigned long x = (unsigned long)ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 20) ^ (unsigned long)getpid();
		for (size_t i = 0; i < sizeof(raw); i++, x = x * 6364136223846793005UL + 1442695040888963407UL)
			raw[i] = (unsigned char)(x >> 33);
	}
	char *id = xmalloc(sizeof(raw) + 1);
	for (size_t i = 0; i < sizeof(raw); i++)
		id[i] = alphabet[raw[i] % (sizeof(alphabet) - 1)];
	id[sizeof(raw)] = '\0';
	/* a label value must start with an alphanumeric: always true here */
	return id;
}
