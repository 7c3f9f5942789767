/* kclient-probe: drive the API client from shell tests.
 *
 *   kclient-probe [connection options] COMMAND ARGS... [command options]
 *
 * Connection (either a kubeconfig, or the pieces directly; PEM files are
 * read into memory here and handed to the client as bytes):
 *   --kubeconfig F [--context C]   load with kube_config_load()
 *   --server URL --ca F --cert F --key F --token T --token-file F
 *   --exec CMD [--exec-arg A]... [--exec-api-version V]
 *   --as U --as-group G (repeatable) --as-uid U --tls-server-name N
 *   --insecure --proxy URL --timeout-ms N -v N --repeat N
 *   --long-running MS   kclient_set_long_running(MS): ride out outages for MS
 * Commands:
 *   get RES NS NAME            prints the object (compact JSON)
 *   list RES NS                names, then "items=N" [--limit N --selector S --field-selector S]
 *   create RES NS FILE         [--dry-run]; prints the created object
 *   delete RES NS NAME         [--propagation P] [--dry-run]
 *   patch RES NS NAME JSON     merge patch
 *   watch RES NS               "TYPE name rv [relisted]" per event, then "watch-rc=N"
 *                              [--rv RV --watch-timeout-ms N --max-events N
 *                               --timeout-seconds N --bookmarks]
 *   logs NS POD                raw log bytes [--follow --container C --tail N
 *                              --since-time T --stop-after-bytes N]
 *   request METHOD PATH [BODY] "status=N" then the body
 * At the end, on stderr:
 *   probe: requests=N connects=M last_status=S last_reason=R
 *   probe: http_version=V       (of the last response: 10, 11, 20; 0 none)
 * Exit 0 on success, 1 on error (after "error: MESSAGE" on stderr), 2 on usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eidf/exec_credential.h"
#include "eidf/kclient.h"
#include "eidf/kubeconfig.h"
#include "eidf/util.h"

static const struct { const char *name; const struct kres *r; } resources[] = {
	{ "pods", &KRES_PODS }, { "configmaps", &KRES_CONFIGMAPS },
	{ "secrets", &KRES_SECRETS }, { "jobs", &KRES_JOBS },
	{ "persistentvolumeclaims", &KRES_PVCS }, { "pvcs", &KRES_PVCS },
	{ "namespaces", &KRES_NAMESPACES }, { "events", &KRES_EVENTS },
	{ "storageclasses", &KRES_STORAGECLASSES }, { "localqueues", &KRES_LOCALQUEUES },
	{ "workloads", &KRES_WORKLOADS },
};

static struct {
	const char *kubeconfig, *context, *server, *ca, *cert, *key, *token, *token_file;
	const char *exec, *exec_api, *as, *as_uid, *tls_server_name, *proxy;
	struct strvec exec_args, as_groups;
	int insecure, dry_run, follow, bookmarks;
	long timeout_ms, verbosity, repeat, limit, watch_timeout_ms, max_events;
	long timeout_seconds, tail, stop_after, long_running;
	const char *selector, *field_selector, *rv, *propagation, *container, *since_time;
} o = { .repeat = 1, .tail = -1, .timeout_ms = -1 };

static void usage(void)
{
	fprintf(stderr, "usage: kclient-probe [options] get|list|create|delete|patch|watch|logs|request ...\n");
	exit(2);
}

static const struct kres *resource(const char *name)
{
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(resources); i++)
		if (!strcmp(resources[i].name, name))
			return resources[i].r;
	fprintf(stderr, "kclient-probe: unknown resource %s\n", name);
	exit(2);
}

static char *slurp(const char *path, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	if (read_file(path, &sb) < 0) {
		eidf_error("%s", eidf_last_error());
		exit(1);
	}
	*len = sb.len;
	return strbuf_detach(&sb);
}

static int print_event(const char *type, const cJSON *obj, void *ud)
{
	struct kclient *kc = ud;
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
	static long n;

	printf("%s %s %s%s\n", type, cJSON_IsString(name) ? name->valuestring : "?",
	       cJSON_IsString(rv) ? rv->valuestring : "?",
	       kclient_watch_relisted(kc) ? " relisted" : "");
	fflush(stdout);
	return o.max_events > 0 && ++n >= o.max_events ? 1 : 0;
}

static long log_bytes;

static int print_log(const char *data, size_t len, void *ud)
{
	(void)ud;
	fwrite(data, 1, len, stdout);
	fflush(stdout);
	log_bytes += (long)len;
	return o.stop_after > 0 && log_bytes >= o.stop_after;
}

static void print_json(const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	if (s)
		puts(s);
	cJSON_free(s);
}

static int run(struct kclient *kc, int argc, char **argv)
{
	const char *cmd = argv[0];
	cJSON *out = NULL;
	int rc;

#define NEED(n) do { if (argc < (n)) usage(); } while (0)
	if (!strcmp(cmd, "get")) {
		NEED(4);
		rc = kclient_get(kc, resource(argv[1]), argv[2], argv[3], &out);
		if (!rc)
			print_json(out);
	} else if (!strcmp(cmd, "list")) {
		struct klist_opts lo = { .label_selector = o.selector,
					 .field_selector = o.field_selector, .limit = o.limit };
		const cJSON *it;
		int n = 0;
		NEED(3);
		rc = kclient_list(kc, resource(argv[1]), argv[2], &lo, &out);
		if (!rc) {
			cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(out, "items")) {
				const cJSON *md = cJSON_GetObjectItemCaseSensitive(it, "metadata");
				const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
				const cJSON *kind = cJSON_GetObjectItemCaseSensitive(it, "kind");
				printf("%s %s\n", cJSON_IsString(kind) ? kind->valuestring : "?",
				       cJSON_IsString(name) ? name->valuestring : "?");
				n++;
			}
			printf("items=%d\n", n);
		}
	} else if (!strcmp(cmd, "create")) {
		size_t len;
		char *text;
		cJSON *obj;
		NEED(4);
		text = slurp(argv[3], &len);
		obj = cJSON_ParseWithLength(text, len);
		free(text);
		if (!obj) {
			eidf_error("%s: invalid JSON", argv[3]);
			return 1;
		}
		rc = kclient_create(kc, resource(argv[1]), argv[2], obj, o.dry_run, &out);
		cJSON_Delete(obj);
		if (!rc)
			print_json(out);
	} else if (!strcmp(cmd, "delete")) {
		NEED(4);
		rc = kclient_delete(kc, resource(argv[1]), argv[2], argv[3], o.propagation, o.dry_run);
		if (!rc)
			printf("deleted\n");
	} else if (!strcmp(cmd, "patch")) {
		cJSON *patch;
		NEED(5);
		patch = cJSON_Parse(argv[4]);
		if (!patch)
			usage();
		rc = kclient_patch_merge(kc, resource(argv[1]), argv[2], argv[3], patch, &out);
		cJSON_Delete(patch);
		if (!rc)
			print_json(out);
	} else if (!strcmp(cmd, "watch")) {
		struct klist_opts lo = { .label_selector = o.selector,
					 .field_selector = o.field_selector, .limit = o.limit,
					 .resource_version = o.rv, .timeout_seconds = o.timeout_seconds,
					 .allow_bookmarks = o.bookmarks };
		NEED(3);
		rc = kclient_watch(kc, resource(argv[1]), argv[2], &lo, o.watch_timeout_ms,
				   print_event, kc);
		printf("watch-rc=%d\n", rc);
		if (rc > 0)
			rc = 0;
	} else if (!strcmp(cmd, "logs")) {
		struct klog_opts lo = { .container = o.container, .follow = o.follow,
					.since_time = o.since_time, .tail_lines = o.tail };
		NEED(3);
		rc = kclient_logs(kc, argv[1], argv[2], &lo, print_log, NULL);
	} else if (!strcmp(cmd, "request")) {
		long status = 0;
		char *body = NULL;
		NEED(3);
		rc = kclient_request(kc, argv[1], argv[2], NULL, argc > 3 ? argv[3] : NULL,
				     argc > 3 ? strlen(argv[3]) : 0, &status, &body);
		printf("status=%ld\n%s\n", status, body ? body : "");
		free(body);
	} else {
		usage();
		return 2;
	}
#undef NEED
	cJSON_Delete(out);
	if (rc < 0) {
		eidf_error("%s", eidf_last_error());
		return 1;
	}
	return 0;
}

static void free_manual(struct kube_config *c)
{
	free(c->server);
	free(c->tls_server_name);
	free(c->proxy_url);
	free(c->ca_pem);
	free(c->cert_pem);
	free(c->key_pem);
	free(c->token);
	free(c->token_file);
	free(c->impersonate_user);
	free(c->impersonate_uid);
	strvec_clear(&c->impersonate_groups);
	if (c->exec) {
		free(c->exec->api_version);
		free(c->exec->command);
		strvec_clear(&c->exec->args);
		free(c->exec);
	}
}

int main(int argc, char **argv)
{
	struct kube_config cfg;
	struct kube_flags flags;
	struct strvec pos = STRVEC_INIT;
	struct kclient *kc;
	int rc = 0, loaded = 0;

	memset(&cfg, 0, sizeof(cfg));
	memset(&flags, 0, sizeof(flags));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
#define STR(flag, var) if (!strcmp(a, flag)) { if (++i >= argc) usage(); var = argv[i]; continue; }
#define NUM(flag, var) if (!strcmp(a, flag)) { if (++i >= argc) usage(); var = atol(argv[i]); continue; }
#define BOOL(flag, var) if (!strcmp(a, flag)) { var = 1; continue; }
		STR("--kubeconfig", o.kubeconfig) STR("--context", o.context)
		STR("--server", o.server) STR("--ca", o.ca) STR("--cert", o.cert) STR("--key", o.key)
		STR("--token", o.token) STR("--token-file", o.token_file) STR("--exec", o.exec)
		STR("--exec-api-version", o.exec_api) STR("--as", o.as) STR("--as-uid", o.as_uid)
		STR("--tls-server-name", o.tls_server_name) STR("--proxy", o.proxy)
		STR("--selector", o.selector) STR("--field-selector", o.field_selector)
		STR("--rv", o.rv) STR("--propagation", o.propagation) STR("--container", o.container)
		STR("--since-time", o.since_time)
		NUM("--timeout-ms", o.timeout_ms) NUM("-v", o.verbosity) NUM("--repeat", o.repeat)
		NUM("--limit", o.limit) NUM("--watch-timeout-ms", o.watch_timeout_ms)
		NUM("--max-events", o.max_events) NUM("--timeout-seconds", o.timeout_seconds)
		NUM("--tail", o.tail) NUM("--stop-after-bytes", o.stop_after)
		NUM("--long-running", o.long_running)
		BOOL("--insecure", o.insecure) BOOL("--dry-run", o.dry_run)
		BOOL("--follow", o.follow) BOOL("--bookmarks", o.bookmarks)
		if (!strcmp(a, "--exec-arg")) {
			if (++i >= argc)
				usage();
			strvec_push(&o.exec_args, argv[i]);
			continue;
		}
		if (!strcmp(a, "--as-group")) {
			if (++i >= argc)
				usage();
			strvec_push(&o.as_groups, argv[i]);
			continue;
		}
		if (a[0] == '-' && a[1] == '-' && strcmp(a, "--") && !pos.n)
			usage();
		strvec_push(&pos, a);
#undef STR
#undef NUM
#undef BOOL
	}
	if (!pos.n)
		usage();

	if (o.kubeconfig) {
		flags.kubeconfig = o.kubeconfig;
		flags.context = o.context;
		flags.insecure_skip_tls_verify = -1;
		flags.verbosity = o.verbosity;
		if (kube_config_load(&flags, &cfg) < 0) {
			eidf_error("%s", eidf_last_error());
			strvec_clear(&pos);
			return 1;
		}
		loaded = 1;
		if (o.timeout_ms >= 0)
			cfg.request_timeout_ms = o.timeout_ms;
	} else {
		cfg.server = xstrdup(o.server ? o.server : "https://127.0.0.1:6443");
		cfg.tls_server_name = xstrdup(o.tls_server_name);
		cfg.insecure = o.insecure;
		cfg.proxy_url = xstrdup(o.proxy);
		if (o.ca)
			cfg.ca_pem = slurp(o.ca, &cfg.ca_len);
		if (o.cert)
			cfg.cert_pem = slurp(o.cert, &cfg.cert_len);
		if (o.key)
			cfg.key_pem = slurp(o.key, &cfg.key_len);
		cfg.token = xstrdup(o.token);
		cfg.token_file = xstrdup(o.token_file);
		if (o.exec) {
			cfg.exec = xcalloc(1, sizeof(*cfg.exec));
			cfg.exec->command = xstrdup(o.exec);
			cfg.exec->api_version = xstrdup(o.exec_api ? o.exec_api :
							"client.authentication.k8s.io/v1");
			for (size_t i = 0; i < o.exec_args.n; i++)
				strvec_push(&cfg.exec->args, o.exec_args.v[i]);
		}
		cfg.impersonate_user = xstrdup(o.as);
		for (size_t i = 0; i < o.as_groups.n; i++)
			strvec_push(&cfg.impersonate_groups, o.as_groups.v[i]);
		cfg.impersonate_uid = xstrdup(o.as_uid);
		cfg.request_timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : 0;
		cfg.verbosity = o.verbosity;
	}

	kc = kclient_new(&cfg);
	if (!kc) {
		eidf_error("%s", eidf_last_error());
		rc = 1;
	} else {
		if (o.long_running > 0)
			kclient_set_long_running(kc, o.long_running, "the probe's work");
		for (long i = 0; i < o.repeat && rc == 0; i++)
			rc = run(kc, (int)pos.n, pos.v);
		fprintf(stderr, "probe: requests=%ld connects=%ld last_status=%ld last_reason=%s\n",
			kclient_request_count(kc), kclient_connect_count(kc),
			kclient_last_http_status(kc),
			kclient_last_reason(kc) ? kclient_last_reason(kc) : "");
		fprintf(stderr, "probe: http_version=%ld\n", kclient_last_http_version(kc));
		kclient_free(kc);
	}
	exec_credential_cache_clear();
	if (loaded)
		kube_config_release(&cfg);
	else
		free_manual(&cfg);
	strvec_clear(&pos);
	strvec_clear(&o.exec_args);
	strvec_clear(&o.as_groups);
	return rc;
}
