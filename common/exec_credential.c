/* exec credential plugins (client-go plugin/pkg/client/auth/exec): run the
 * command without a shell, stdin from /dev/null (we are never interactive),
 * KUBERNETES_EXEC_INFO in its environment, parse the ExecCredential on its
 * stdout, keep the result in process memory until expirationTimestamp. */
#include "eidf/exec_credential.h"
#include "eidf/http_header.h"
#include "eidf/humanize.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Plugin output beyond this is refused rather than buffered forever. */
#define EXEC_MAX_OUTPUT (16 * 1024 * 1024)

static void wipe_free(char *p, size_t len)
{
	if (!p)
		return;
	memset(p, 0, len);
	free(p);
}

void exec_credential_release(struct exec_credential *cred)
{
	if (!cred)
		return;
	if (cred->token)
		wipe_free(cred->token, strlen(cred->token));
	wipe_free(cred->cert_pem, cred->cert_len);
	wipe_free(cred->key_pem, cred->key_len);
	memset(cred, 0, sizeof(*cred));
}

static int str_field(const cJSON *obj, const char *name, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v)) {
		eidf_set_error("ExecCredential field %s must be a string", name);
		return -1;
	}
	*out = v->valuestring;
	return 0;
}

/* A NUL inside a JSON string (\u0000): cJSON keeps C strings, so such a
 * token would be cut short at it and sent without its tail, where Go keeps
 * it and net/http refuses the header.  Found by walking the JSON strings
 * (a backslash escapes the next character), refused by the caller. */
static int has_nul(const char *json, size_t len)
{
	int in_str = 0;

	if (memchr(json, '\0', len))
		return 1;
	for (size_t i = 0; i < len; i++) {
		if (json[i] == '"') {
			in_str = !in_str;
		} else if (in_str && json[i] == '\\' && i + 1 < len) {
			if (json[i + 1] == 'u' && i + 5 < len && !memcmp(json + i + 2, "0000", 4))
				return 1;
			i++;
		}
	}
	return 0;
}

int exec_credential_parse(const char *json, size_t len, const char *api_version,
			  struct exec_credential *out)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *status;
	const char *av, *kind, *token, *cert, *key, *exp;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (root && has_nul(json, len)) {
		eidf_set_error("invalid header field value for \"Authorization\": the plugin's "
			       "ExecCredential contains a NUL character (\\u0000), which a token cannot hold");
		goto out;
	}
	if (!root || !cJSON_IsObject(root)) {
		/* never quote the output: it may hold a token */
		eidf_set_error("the plugin did not print an ExecCredential JSON object on stdout");
		goto out;
	}
	if (str_field(root, "apiVersion", &av) < 0 || str_field(root, "kind", &kind) < 0)
		goto out;
	if (!av || !*av) {
		eidf_set_error("the plugin's ExecCredential has no apiVersion (expected %s)", api_version);
		goto out;
	}
	if (strcmp(av, api_version)) {
		eidf_set_error("exec plugin is configured to use API version %s, plugin returned version %s",
			       api_version, av);
		goto out;
	}
	if (kind && strcmp(kind, "ExecCredential")) {
		eidf_set_error("the plugin returned kind \"%s\", expected ExecCredential", kind);
		goto out;
	}
	status = cJSON_GetObjectItemCaseSensitive(root, "status");
	if (!status || cJSON_IsNull(status)) {
		eidf_set_error("exec plugin didn't return a status field");
		goto out;
	}
	if (!cJSON_IsObject(status)) {
		eidf_set_error("the plugin's ExecCredential status must be an object");
		goto out;
	}
	if (str_field(status, "token", &token) < 0 ||
	    str_field(status, "clientCertificateData", &cert) < 0 ||
	    str_field(status, "clientKeyData", &key) < 0 ||
	    str_field(status, "expirationTimestamp", &exp) < 0)
		goto out;
	if (token && !*token)
		token = NULL;
	if (cert && !*cert)
		cert = NULL;
	if (key && !*key)
		key = NULL;
	if (!token && !cert && !key) {
		eidf_set_error("exec plugin didn't return a token or cert/key pair");
		goto out;
	}
	if (!cert != !key) {
		eidf_set_error("exec plugin returned only certificate or key, not both");
		goto out;
	}
	if (cert && (!strstr(cert, "-----BEGIN") || !strstr(key, "-----BEGIN"))) {
		eidf_set_error("clientCertificateData and clientKeyData must be PEM text "
			       "(-----BEGIN ...), not base64");
		goto out;
	}
	/* it becomes "Authorization: Bearer <token>": a CR/LF would add headers */
	if (token && !http_header_value_valid(token)) {
		eidf_set_error("invalid header field value for \"Authorization\": the token the plugin "
			       "returned contains a control character (CR, LF, NUL...)");
		goto out;
	}
	if (exp && *exp && parse_rfc3339(exp, &out->expires) < 0) {
		eidf_set_error("expirationTimestamp is not an RFC 3339 time (e.g. 2024-01-02T03:04:05Z)");
		goto out;
	}
	if (token)
		out->token = xstrdup(token);
	if (cert) {
		out->cert_len = strlen(cert);
		out->cert_pem = xstrdup(cert);
		out->key_len = strlen(key);
		out->key_pem = xstrdup(key);
	}
	ret = 0;
out:
	if (root) {
		/* the parse tree holds secrets too */
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "status");
		const cJSON *e;
		cJSON_ArrayForEach(e, st)
			if (cJSON_IsString(e) && e->valuestring)
				memset(e->valuestring, 0, strlen(e->valuestring));
		cJSON_Delete(root);
	}
	return ret;
}

/* ---- KUBERNETES_EXEC_INFO ------------------------------------------------------- */

static char *exec_info(const struct kube_config *cfg)
{
	const struct exec_config *e = cfg->exec;
	cJSON *root = cJSON_CreateObject(), *spec;
	char *s;

	cJSON_AddStringToObject(root, "kind", "ExecCredential");
	cJSON_AddStringToObject(root, "apiVersion", e->api_version);
	spec = cJSON_AddObjectToObject(root, "spec");
	if (e->provide_cluster_info) {
		cJSON *cl = cJSON_AddObjectToObject(spec, "cluster");
		/* rest.Config.Host: the server as configured (a trailing / kept) */
		cJSON_AddStringToObject(cl, "server", cfg->server_verbatim ? cfg->server_verbatim :
					cfg->server ? cfg->server : "");
		if (cfg->tls_server_name && *cfg->tls_server_name)
			cJSON_AddStringToObject(cl, "tls-server-name", cfg->tls_server_name);
		if (cfg->insecure)
			cJSON_AddBoolToObject(cl, "insecure-skip-tls-verify", 1);
		if (cfg->ca_pem && cfg->ca_len) {
			char *b = base64_encode(cfg->ca_pem, cfg->ca_len);
			cJSON_AddStringToObject(cl, "certificate-authority-data", b);
			free(b);
		}
		if (cfg->proxy_url && *cfg->proxy_url)
			cJSON_AddStringToObject(cl, "proxy-url", cfg->proxy_url);
		if (cfg->disable_compression)
			cJSON_AddBoolToObject(cl, "disable-compression", 1);
		/* the extension as client-go's YAML->JSON typed it (exact numbers,
		 * sorted keys); a RawExtension without one marshals as null */
		cJSON_AddItemToObject(cl, "config", e->cluster_config_json ?
				      cJSON_CreateRaw(e->cluster_config_json) : cJSON_CreateNull());
	}
	cJSON_AddBoolToObject(spec, "interactive", 0);
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

/* ---- running the plugin ---------------------------------------------------------- */

static int env_name_in(const char *entry, const struct strvec *names)
{
	size_t n = strcspn(entry, "=");
	for (size_t i = 0; i < names->n; i++) {
		const char *v = names->v[i];
		if (strlen(v) >= n && !strncmp(v, entry, n) && (v[n] == '=' || v[n] == '\0'))
			return 1;
	}
	return 0;
}

/* Plugin text in our messages: no terminal escapes or control characters
 * (client-go strips ANSI codes from installHint the same way). */
static void add_clean(struct strbuf *sb, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0x1b) {
			/* CSI/OSC-ish sequence: skip to its final letter */
			while (i + 1 < len && !((s[i + 1] >= 'A' && s[i + 1] <= 'Z') ||
						(s[i + 1] >= 'a' && s[i + 1] <= 'z')))
				i++;
			i++;
			continue;
		}
		strbuf_addch(sb, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
}

static char *clean_hint(const char *hint, const char *dflt)
{
	struct strbuf sb = STRBUF_INIT;
	if (hint && *hint)
		add_clean(&sb, hint, strlen(hint));
	else
		strbuf_addstr(&sb, dflt);
	return strbuf_detach(&sb);
}

static const char *cmd_name(const struct exec_config *e)
{
	return e->command;
}

static int run_plugin(const struct kube_config *cfg, struct strbuf *out)
{
	const struct exec_config *e = cfg->exec;
	struct strvec argv = STRVEC_INIT, envp = STRVEC_INIT, names = STRVEC_INIT;
	int opipe[2] = { -1, -1 }, spipe[2] = { -1, -1 };
	char *info = NULL;
	pid_t pid;
	int status = 0, child_errno = 0, ret = -1;
	const char *user = cfg->user_name && *cfg->user_name ? cfg->user_name : "(none)";

	strvec_push(&argv, e->command);
	for (size_t i = 0; i < e->args.n; i++)
		strvec_push(&argv, e->args.v[i]);
	/* the plugin's env entries and KUBERNETES_EXEC_INFO replace inherited ones */
	for (size_t i = 0; i < e->env.n; i++)
		strvec_push(&names, e->env.v[i]);
	strvec_push(&names, "KUBERNETES_EXEC_INFO");
	for (char **ev = environ; ev && *ev; ev++)
		if (!env_name_in(*ev, &names))
			strvec_push(&envp, *ev);
	for (size_t i = 0; i < e->env.n; i++)
		strvec_push(&envp, e->env.v[i]);
	info = exec_info(cfg);
	strvec_pushf(&envp, "KUBERNETES_EXEC_INFO=%s", info);

	if (pipe2(opipe, O_CLOEXEC) < 0 || pipe2(spipe, O_CLOEXEC) < 0) {
		eidf_set_error("exec plugin \"%s\" for user \"%s\": cannot create pipes: %s",
			       cmd_name(e), user, strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		eidf_set_error("exec plugin \"%s\" for user \"%s\": cannot fork: %s",
			       cmd_name(e), user, strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		/* stderr stays the user's: device-code logins print their prompt there */
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(opipe[1], 1) < 0) {
			int en = errno;
			(void)!write(spipe[1], &en, sizeof(en));
			_exit(127);
		}
		signal(SIGPIPE, SIG_DFL);
		execvpe(argv.v[0], argv.v, envp.v);
		int en = errno;
		(void)!write(spipe[1], &en, sizeof(en));
		_exit(127);
	}
	close(opipe[1]);
	close(spipe[1]);
	opipe[1] = spipe[1] = -1;

	/* exec failure shows up as an errno on the status pipe; success closes it */
	{
		ssize_t n;
		do
			n = read(spipe[0], &child_errno, sizeof(child_errno));
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof(child_errno))
			child_errno = 0;
	}

	struct pollfd fds[1] = { { opipe[0], POLLIN, 0 } };
	int open_fds = 1, too_big = 0;
	while (open_fds) {
		if (poll(fds, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 1; i++) {
			struct strbuf *sb = out;
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			strbuf_grow(sb, 4096);
			ssize_t n = read(fds[i].fd, sb->buf + sb->len, 4096);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				fds[i].fd = -1;
				open_fds--;
				continue;
			}
			if (sb->len + (size_t)n > EXEC_MAX_OUTPUT) {
				too_big = 1;
				fds[i].fd = -1;
				open_fds--;
				continue;
			}
			sb->len += (size_t)n;
			sb->buf[sb->len] = '\0';
		}
	}
	if (too_big)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;

	if (child_errno == ENOENT) {
		char *hint = clean_hint(e->install_hint,
					"install it or fix users[].user.exec.command in the kubeconfig");
		eidf_set_error("exec plugin for user \"%s\": executable %s not found; %s", user,
			       cmd_name(e), hint);
		free(hint);
		goto out;
	}
	if (child_errno) {
		char *hint = clean_hint(e->install_hint, "check the command in users[].user.exec");
		eidf_set_error("exec plugin for user \"%s\": cannot run %s: %s; %s", user, cmd_name(e),
			       strerror(child_errno), hint);
		free(hint);
		goto out;
	}
	if (too_big) {
		eidf_set_error("exec plugin \"%s\" for user \"%s\" wrote more than %d MiB; "
			       "it is not a credential plugin", cmd_name(e), user, EXEC_MAX_OUTPUT >> 20);
		goto out;
	}
	if (WIFSIGNALED(status))
		eidf_set_error("exec plugin \"%s\" for user \"%s\" was killed by signal %d "
			       "(its messages, if any, are above)", cmd_name(e), user, WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status))
		eidf_set_error("exec plugin \"%s\" for user \"%s\" failed with exit code %d "
			       "(its messages, if any, are above)", cmd_name(e), user, WEXITSTATUS(status));
	if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status)))
		goto out;
	ret = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (opipe[i] >= 0)
			close(opipe[i]);
		if (spipe[i] >= 0)
			close(spipe[i]);
	}
	free(info);
	strvec_clear(&argv);
	strvec_clear(&envp);
	strvec_clear(&names);
	return ret;
}

/* ---- cache ------------------------------------------------------------------------- */

struct cache_entry {
	char *key;
	struct exec_credential cred;
};
static struct cache_entry *cache;
static size_t cache_n, cache_alloc;

/* One credential per plugin invocation identity and cluster (client-go keys its
 * authenticator cache on the exec config and cluster the same way). */
static char *cache_key(const struct kube_config *cfg)
{
	const struct exec_config *e = cfg->exec;
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s%c%s%c", e->api_version, 0, e->command, 0);
	for (size_t i = 0; i < e->args.n; i++)
		strbuf_addf(&sb, "a%s%c", e->args.v[i], 0);
	for (size_t i = 0; i < e->env.n; i++)
		strbuf_addf(&sb, "e%s%c", e->env.v[i], 0);
	strbuf_addf(&sb, "%d%c%s%c%s", e->provide_cluster_info, 0,
		    cfg->server ? cfg->server : "", 0, cfg->user_name ? cfg->user_name : "");
	/* NULs above keep fields apart; make it a printable C string */
	for (size_t i = 0; i < sb.len; i++)
		if (!sb.buf[i])
			sb.buf[i] = '\x1f';
	return strbuf_detach(&sb);
}

static void cache_clear_at_exit(void)
{
	exec_credential_cache_clear();
}

int exec_credential_get(const struct kube_config *cfg, int force_refresh,
			const struct exec_credential **out)
{
	static int registered;
	struct strbuf json = STRBUF_INIT;
	struct exec_credential cred;
	struct cache_entry *ent = NULL;
	char *key;
	const char *user;

	*out = NULL;
	if (!cfg || !cfg->exec) {
		eidf_set_error("no exec credential plugin is configured for this user");
		return -1;
	}
	user = cfg->user_name && *cfg->user_name ? cfg->user_name : "(none)";
	key = cache_key(cfg);
	for (size_t i = 0; i < cache_n; i++)
		if (!strcmp(cache[i].key, key)) {
			ent = &cache[i];
			break;
		}
	if (ent && !force_refresh && (!ent->cred.expires || time(NULL) < ent->cred.expires)) {
		free(key);
		*out = &ent->cred;
		return 0;
	}
	if (cfg->exec->interactive_mode && !strcmp(cfg->exec->interactive_mode, "Always")) {
		eidf_set_error("exec plugin \"%s\" for user \"%s\" needs interactiveMode Always, but "
			       "kubectl-eidf never runs plugins interactively; log in with the plugin "
			       "first or set interactiveMode: IfAvailable", cfg->exec->command, user);
		free(key);
		return -1;
	}
	int ran = run_plugin(cfg, &json) == 0;
	if (!ran || exec_credential_parse(strbuf_str(&json), json.len, cfg->exec->api_version, &cred) < 0) {
		if (ran) {
			char *why = xstrdup(eidf_last_error());
			eidf_set_error("exec plugin \"%s\" for user \"%s\": %s", cfg->exec->command, user, why);
			free(why);
		}
		if (json.buf)
			memset(json.buf, 0, json.alloc);
		strbuf_release(&json);
		free(key);
		return -1;
	}
	if (json.buf)
		memset(json.buf, 0, json.alloc);
	strbuf_release(&json);
	if (ent) {
		exec_credential_release(&ent->cred);
		free(key);
	} else {
		if (cache_n == cache_alloc) {
			cache_alloc = cache_alloc ? cache_alloc * 2 : 4;
			cache = xrealloc(cache, cache_alloc * sizeof(*cache));
		}
		ent = &cache[cache_n++];
		ent->key = key;
		if (!registered) {
			registered = 1;
			atexit(cache_clear_at_exit);
		}
	}
	ent->cred = cred;
	*out = &ent->cred;
	return 0;
}

void exec_credential_cache_clear(void)
{
	for (size_t i = 0; i < cache_n; i++) {
		exec_credential_release(&cache[i].cred);
		free(cache[i].key);
	}
	free(cache);
	cache = NULL;
	cache_n = cache_alloc = 0;
}
