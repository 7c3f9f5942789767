/* Runtime shared by every stage executable: generic kubectl flags,
 * subcommand dispatch, completion entry points, lazily built client. */
#include "eidf/cmd.h"
#include "eidf/manifest.h"
#include "eidf/settings.h"
#include "eidf/stage_options.h"
#include "eidf/manpage.h"
#include "eidf/waiting.h"
#include "internal.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

struct kube_flags kube_flags = { .insecure_skip_tls_verify = -1 };

const struct option kube_options[] = {
	OPT_GROUP("Kubernetes options"),
	OPT_STRING(0, "kubeconfig", &kube_flags.kubeconfig, "path",
		   "Path to the kubeconfig file to use for CLI requests.", COMPLETE_FILE),
	OPT_STRING(0, "context", &kube_flags.context, "name",
		   "The name of the kubeconfig context to use", COMPLETE_CONTEXT),
	OPT_STRING(0, "cluster", &kube_flags.cluster, "name",
		   "The name of the kubeconfig cluster to use", COMPLETE_CLUSTER),
	OPT_STRING(0, "user", &kube_flags.user, "name",
		   "The name of the kubeconfig user to use", COMPLETE_USER),
	OPT_STRING('n', "namespace", &kube_flags.namespace, "namespace",
		   "If present, the namespace scope for this CLI request", COMPLETE_NAMESPACE),
	OPT_STRING('s', "server", &kube_flags.server, "url",
		   "The address and port of the Kubernetes API server", COMPLETE_NONE),
	OPT_STRING(0, "token", &kube_flags.token, "token",
		   "Bearer token for authentication to the API server", COMPLETE_NONE),
	OPT_STRING(0, "certificate-authority", &kube_flags.certificate_authority, "path",
		   "Path to a cert file for the certificate authority", COMPLETE_FILE),
	OPT_STRING(0, "client-certificate", &kube_flags.client_certificate, "path",
		   "Path to a client certificate file for TLS", COMPLETE_FILE),
	OPT_STRING(0, "client-key", &kube_flags.client_key, "path",
		   "Path to a client key file for TLS", COMPLETE_FILE),
	OPT_BOOL(0, "insecure-skip-tls-verify", &kube_flags.insecure_skip_tls_verify,
		 "If true, the server's certificate will not be checked for validity. This will make your HTTPS connections insecure"),
	OPT_STRING(0, "tls-server-name", &kube_flags.tls_server_name, "name",
		   "Server name to use for server certificate validation. If it is not provided, the hostname used to contact the server is used",
		   COMPLETE_NONE),
	OPT_STRING(0, "as", &kube_flags.as, "user",
		   "Username to impersonate for the operation. User could be a regular user or a service account in a namespace.",
		   COMPLETE_NONE),
	OPT_LIST(0, "as-group", &kube_flags.as_groups, "group",
		 "Group to impersonate for the operation, this flag can be repeated to specify multiple groups.",
		 COMPLETE_NONE),
	OPT_STRING(0, "as-uid", &kube_flags.as_uid, "uid",
		   "UID to impersonate for the operation.", COMPLETE_NONE),
	OPT_STRING(0, "username", &kube_flags.username, "name",
		   "Username for basic authentication to the API server (not supported: the API server no longer accepts it)",
		   COMPLETE_NONE),
	OPT_STRING(0, "password", &kube_flags.password, "password",
		   "Password for basic authentication to the API server (not supported: the API server no longer accepts it)",
		   COMPLETE_NONE),
	OPT_BOOL(0, "disable-compression", &kube_flags.disable_compression,
		 "If true, opt-out of response compression for all requests to the server"),
	OPT_DURATION(0, "request-timeout", &kube_flags.request_timeout,
		     "The length of time to wait before giving up on a single server request. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests.",
		     "0"),
	OPT_INT('v', "v", &kube_flags.verbosity, "level",
		"number for the log level verbosity", 0, 100),
	OPT_END(),
};

const char *const dry_run_values[] = { "none", "client", "server", NULL };

int dry_run_mode(const char *value)
{
	if (!value || !strcmp(value, "none"))
		return 0;
	return !strcmp(value, "server") ? 2 : 1;
}

void cmd_kubectl_flags(struct strvec *v, const char *ns)
{
	const struct kube_flags *f = &kube_flags;
	struct { const char *flag, *value; } pass[] = {
		{ "--kubeconfig", f->kubeconfig }, { "--context", f->context }, { "--cluster", f->cluster },
		{ "--user", f->user }, { "--server", f->server }, { "--token", f->token },
		{ "--certificate-authority", f->certificate_authority },
		{ "--client-certificate", f->client_certificate }, { "--client-key", f->client_key },
		{ "--tls-server-name", f->tls_server_name }, { "--as", f->as }, { "--as-uid", f->as_uid },
		{ "--request-timeout", f->request_timeout },
	};
	for (size_t i = 0; i < EIDF_ARRAY_SIZE(pass); i++)
		if (pass[i].value)
			strvec_pushf(v, "%s=%s", pass[i].flag, pass[i].value);
	for (size_t i = 0; i < f->as_groups.n; i++)
		strvec_pushf(v, "--as-group=%s", f->as_groups.v[i]);
	if (f->insecure_skip_tls_verify == 1)
		strvec_push(v, "--insecure-skip-tls-verify=true");
	if (f->disable_compression == 1)
		strvec_push(v, "--disable-compression=true");
	if (ns)
		strvec_pushf(v, "--namespace=%s", ns);
}

static struct { const char *queue, *eidf_user; } policy_flags;

const struct option eidf_user_options[] = {
	{ .type = OPT_TYPE_STRING, .long_name = "eidf-user", .value = &policy_flags.eidf_user,
	  .argh = "name", .help = "add the eidf/user label some projects require (default: $USER)",
	  .flags = OPT_OPTARG, .optarg_default = "" },
	OPT_END(),
};

const struct option policy_options[] = {
	OPT_STRING(0, "queue", &policy_flags.queue, "name",
		   "Kueue LocalQueue for the Job (default <namespace>-user-queue)", COMPLETE_NONE),
	OPT_INCLUDE(eidf_user_options),
	OPT_END(),
};

const char *policy_queue(void)
{
	return policy_flags.queue ? policy_flags.queue : setting("queue", NULL);
}

const char *policy_eidf_user(void)
{
	if (policy_flags.eidf_user && *policy_flags.eidf_user)
		return policy_flags.eidf_user;
	if (policy_flags.eidf_user) {
		const char *user = getenv("USER");
		return user && *user ? user : setting("eidf-user", NULL);
	}
	return setting("eidf-user", NULL);
}

/* ---- client ------------------------------------------------------------------- */

const struct kube_config *cmd_config(struct eidf_cmd *cmd)
{
	if (cmd->config_loaded > 0)
		return &cmd->config;
	if (cmd->config_loaded < 0)
		return NULL;
	if (kube_config_load(&kube_flags, &cmd->config) < 0 ||
	    kube_config_check_credentials(&cmd->config) < 0) {
		kube_config_release(&cmd->config);
		cmd->config_loaded = -1;
		if (!cmd->completing)
			eidf_error("%s", eidf_last_error());
		return NULL;
	}
	cmd->config_loaded = 1;
	return &cmd->config;
}

struct kclient *cmd_client(struct eidf_cmd *cmd)
{
	const struct kube_config *cfg;

	if (cmd->client)
		return cmd->client;
	cfg = cmd_config(cmd);
	if (!cfg)
		return NULL;
	cmd->client = kclient_new(cfg);
	if (!cmd->client) {
		if (!cmd->completing)
			eidf_error("%s", eidf_last_error());
		return NULL;
	}
	if (cmd->completing)
		kclient_set_timeout_ms(cmd->client, 2000);
	return cmd->client;
}

const char *cmd_namespace(struct eidf_cmd *cmd)
{
	/* -n wins over any kubeconfig, so a client-side dry run needs none. */
	if (kube_flags.namespace && *kube_flags.namespace)
		return kube_flags.namespace;
	const struct kube_config *cfg = cmd_config(cmd);
	if (!cfg)
		return NULL;
	return cfg->namespace ? cfg->namespace : "default";
}

const char *cmd_project_namespace(struct eidf_cmd *cmd)
{
	const char *ns = cmd_namespace(cmd);
	if (!ns)
		return NULL;
	if (policy_require_project_namespace(ns) < 0) {
		if (!cmd->completing)
			eidf_error("%s", eidf_last_error());
		return NULL;
	}
	return ns;
}

static void cmd_release(struct eidf_cmd *cmd)
{
	if (cmd->client)
		kclient_free(cmd->client);
	cmd->client = NULL;
	if (cmd->config_loaded > 0)
		kube_config_release(&cmd->config);
	cmd->config_loaded = 0;
}

/* ---- stage_main ----------------------------------------------------------------- */

struct help_target {
	const struct stage *st;
	const struct subcommand *sub;
};

static void help_cb(FILE *out, void *ctx)
{
	struct help_target *h = ctx;
	usage_print(out, h->st, h->sub);
}



static int run_sub(const struct stage *st, const struct subcommand *sub, int argc, const char **argv)
{
	struct help_target ht = { st, sub };
	struct eidf_cmd cmd = { .stage = st, .sub = sub };
	char *prog = sub->name ? xasprintf("kubectl eidf %s %s", st->name, sub->name)
			       : xasprintf("kubectl eidf %s", st->name);
	int n, rc;

	options_set_help(help_cb, &ht);
	n = parse_options(argc, argv, sub->options, prog, sub->usage, 0);
	options_set_help(NULL, NULL);
	if (n == -1) {
		free(prog);
		return EIDF_EXIT_OK;
	}
	if (n < 0) {
		free(prog);
		return EIDF_EXIT_USAGE;
	}
	if (wait_options_check() < 0) {
		eidf_error("%s", eidf_last_error());
		fprintf(stderr, "See '%s --help' for usage.\n", prog);
		free(prog);
		return EIDF_EXIT_USAGE;
	}
	free(prog);
	settings_load_user();
	rc = sub->run(&cmd, n, argv);
	cmd_release(&cmd);
	if (rc < 0)
		rc = EIDF_EXIT_ERROR;
	return rc;
}

static int stage_dispatch(const struct stage *st, int argc, const char **argv)
{
	struct help_target ht = { st, NULL };
	int only, dd, i, n, rc;
	const struct subcommand *def = stage_default_sub(st, &only);
	const struct option opts[] = {
		OPT_INCLUDE(st->options),
		OPT_INCLUDE(def ? def->options : NULL),
		OPT_INCLUDE(kube_options),
		OPT_END(),
	};
	const struct subcommand *sub;
	char *prog;

	if (def && only)
		return run_sub(st, def, argc, argv);

	/* The first positional word picks the subcommand; flags may come before
	 * it (`pvc -n x list`) and are parsed with the subcommand's table.  A
	 * default command takes everything else (also no arguments at all:
	 * `build-context` builds "."). */
	i = first_positional(argc, argv, opts, &dd);
	if (i >= 0 && !dd && (sub = stage_find_sub(st, argv[i]))) {
		for (int k = i; k + 1 < argc; k++)
			argv[k] = argv[k + 1];
		argv[argc - 1] = NULL;
		return run_sub(st, sub, argc - 1, argv);
	}
	if (def && !(i >= 0 && !dd && !strcmp(argv[i], "help")))
		return run_sub(st, def, argc, argv);

	prog = xasprintf("kubectl eidf %s", st->name);
	if (i >= 0 && !dd && !strcmp(argv[i], "help")) {
		sub = i + 1 < argc ? stage_find_sub(st, argv[i + 1]) : NULL;
		if (i + 1 < argc && !sub) {
			eidf_error("unknown command \"%s\" for \"%s\"", argv[i + 1], prog);
			fprintf(stderr, "See '%s --help' for usage.\n", prog);
			free(prog);
			return EIDF_EXIT_USAGE;
		}
		usage_print(stdout, st, sub);
		free(prog);
		return EIDF_EXIT_OK;
	}
	if (i >= 0) {
		eidf_error("unknown command \"%s\" for \"%s\"", argv[i], prog);
		fprintf(stderr, "See '%s --help' for usage.\n", prog);
		free(prog);
		return EIDF_EXIT_USAGE;
	}
	/* only flags: the stage's own options (and --help) */
	options_set_help(help_cb, &ht);
	n = parse_options(argc, argv, opts, prog, "[command] [flags]", 0);
	options_set_help(NULL, NULL);
	free(prog);
	if (n == -1)
		return EIDF_EXIT_OK;
	if (n < 0)
		return EIDF_EXIT_USAGE;
	usage_print(stdout, st, NULL);
	rc = EIDF_EXIT_OK;
	return rc;
}

int stage_main(const struct stage *st, int argc, char **argv)
{
	const char *base = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
	const char **args;
	int rc;

	base = base ? base + 1 : (argc > 0 && argv[0] ? argv[0] : "");
	args = xcalloc((size_t)argc + 1, sizeof(*args));
	for (int i = 1; i < argc; i++)
		args[i - 1] = argv[i];

	if (starts_with(base, "kubectl_complete-")) {
		rc = complete_main(st, argc - 1, args);
	} else if (argc > 1 && (!strcmp(argv[1], "__complete") ||
				!strcmp(argv[1], "__completeNoDesc"))) {
		complete_no_desc = !strcmp(argv[1], "__completeNoDesc");
		rc = complete_main(st, argc - 2, args + 1);
	} else if (argc > 1 && !strcmp(argv[1], "__man")) { /* the build's man pages */
		manpage_print(stdout, st);
		rc = EIDF_EXIT_OK;
	} else {
		rc = stage_dispatch(st, argc - 1, args);
	}
	free(args);
	strvec_clear(&kube_flags.as_groups);
	fflush(stdout);
	return rc;
}
