/* hf://[datasets/|spaces/]ORG/NAME[@REV][/PATH]: the client resolves REV to
 * a commit through the Hub API, lists the tree at that commit (paginated),
 * and the Job downloads .../resolve/<sha>/<path>: a branch that moves during
 * the fetch cannot change what is downloaded.  LFS files carry their sha256,
 * the others their git blob id; the Job checks both. */
#include "source.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "eidf/httpc.h"
#include "eidf/manifest.h"

void hf_ref_release(struct hf_ref *r)
{
	free(r->type);
	free(r->repo);
	free(r->revision);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

static int repo_part_ok(const char *s, size_t n)
{
	if (!n || n > 96 || s[0] == '.' || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return 0;
		if (i + 1 < n && s[i] == '.' && s[i + 1] == '.')
			return 0;
	}
	return 1;
}

static char *pct_decode(const char *s, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char h[3] = { s[i + 1], s[i + 2], 0 };
			strbuf_addch(&sb, (int)strtol(h, NULL, 16));
			i += 2;
		} else {
			strbuf_addch(&sb, s[i]);
		}
	}
	return strbuf_detach(&sb);
}

int hf_parse(const char *src, struct hf_ref *r)
{
	memset(r, 0, sizeof(*r));
	if (strncmp(src, "hf://", 5)) {
		eidf_set_error("\"%s\" is not an hf:// source", src);
		return -1;
	}
	const char *p = src + 5;
	const char *type = "models";
	if (!strncmp(p, "datasets/", 9)) {
		type = "datasets";
		p += 9;
	} else if (!strncmp(p, "spaces/", 7)) {
		type = "spaces";
		p += 7;
	} else if (!strncmp(p, "models/", 7)) {
		p += 7;
	}
	size_t ol = strcspn(p, "/");
	const char *name = p + ol + (p[ol] == '/');
	size_t nl = strcspn(name, "/@");
	if (!p[ol] || !repo_part_ok(p, ol) || !repo_part_ok(name, nl)) {
		eidf_set_error("\"%s\": expected hf://[datasets/|spaces/]ORG/NAME[@REVISION][/PATH]", src);
		return -1;
	}
	const char *rest = name + nl;
	char *rev = NULL;
	if (*rest == '@') {
		rest++;
		size_t rl = strcspn(rest, "/");
		/* refs/pr/N, refs/convert/parquet: three components */
		if (rl == 4 && !strncmp(rest, "refs/", 5)) {
			const char *q = rest + 5;
			size_t a = strcspn(q, "/");
			if (q[a] == '/')
				rl = 5 + a + 1 + strcspn(q + a + 1, "/");
		}
		rev = pct_decode(rest, rl);
		rest += rl;
		if (!*rev) {
			free(rev);
			eidf_set_error("\"%s\": empty revision after '@'", src);
			return -1;
		}
		for (const unsigned char *c = (const unsigned char *)rev; *c; c++) {
			if (*c <= 0x20 || *c == 0x7f) {
				free(rev);
				eidf_set_error("\"%s\": the revision contains a space or control character", src);
				return -1;
			}
		}
	}
	if (*rest && *rest != '/') {
		free(rev);
		eidf_set_error("\"%s\": expected hf://[datasets/|spaces/]ORG/NAME[@REVISION][/PATH]", src);
		return -1;
	}
	char *path = NULL;
	if (fetch_path_normalize(*rest ? rest + 1 : "", 1, &path) < 0) {
		char *e = xstrdup(eidf_last_error());
		eidf_set_error("\"%s\": %s", src, e);
		free(e);
		free(rev);
		return -1;
	}
	r->type = xstrdup(type);
	r->repo = xasprintf("%.*s/%.*s", (int)ol, p, (int)nl, name);
	r->revision = rev ? rev : xstrdup("main");
	r->path = path;
	return 0;
}

/* One line for a refused API call: the Hub's X-Error-Code, its message, the fix. */
static void hub_error(const char *src, const struct hf_ref *r, const struct hf_source_opts *o, const char *what,
		      const struct httpc_response *resp)
{
	char *code = httpc_response_header(resp, "X-Error-Code");
	char *msg = httpc_response_header(resp, "X-Error-Message");
	if (!msg) {
		cJSON *j = cJSON_ParseWithLength(strbuf_str(&resp->body), resp->body.len);
		const cJSON *e = cJSON_GetObjectItem(j, "error");
		if (cJSON_IsString(e))
			msg = xstrdup(e->valuestring);
		cJSON_Delete(j);
	}
	const char *kind = !strcmp(r->type, "datasets") ? "datasets/" : !strcmp(r->type, "spaces") ? "spaces/" : "";
	char *page = xasprintf("%s/%s%s", o->endpoint, kind, r->repo);
	char *fix;
	if (code && !strcmp(code, "GatedRepo"))
		fix = xasprintf("the repo is gated: accept its conditions at %s with your account, then give a token of "
				"that account (HF_TOKEN here; --hf-token-secret for the Job: kubectl create secret generic "
				"hf-token --from-literal=HF_TOKEN=hf_...)", page);
	else if (code && !strcmp(code, "RevisionNotFound"))
		fix = xasprintf("no revision \"%s\": name a branch, tag or commit of %s", r->revision, page);
	else if (code && !strcmp(code, "EntryNotFound"))
		fix = xasprintf("no path \"%s\" at revision %s", r->path, r->revision);
	else if ((resp->status == 401 || resp->status == 404) && (!code || !strcmp(code, "RepoNotFound")))
		fix = xstrdup(o->token ? "check the name; a private repo needs a token with read access to it"
			      : "check the name; a private repo needs a token: HF_TOKEN here and --hf-token-secret "
				"for the Job");
	else if (resp->status == 401 || resp->status == 403)
		fix = xstrdup(o->token ? "this token may not read the repo" : "a token is needed: HF_TOKEN here and "
			      "--hf-token-secret for the Job");
	else
		fix = xasprintf("check --hf-endpoint (%s)", o->endpoint);
	eidf_set_error("%s: %s refused: HTTP %ld%s%s%s%s%s; %s", src, what, resp->status, code ? " " : "",
		       code ? code : "", msg ? " (" : "", msg ? msg : "", msg ? ")" : "", fix);
	free(page);
	free(fix);
	free(code);
	free(msg);
}

static int is_hex(const char *s, size_t n)
{
	if (!s || strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static char *lower_dup(const char *s)
{
	char *d = xstrdup(s);
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

int hf_expand(const char *src, const struct hf_source_opts *o, struct fetch_list *l, char **dest_hint,
	      char **commit)
{
	struct hf_ref r;
	if (hf_parse(src, &r) < 0)
		return -2;
	struct httpc *h = httpc_new(0);
	if (!h) {
		hf_ref_release(&r);
		return -1;
	}
	struct strvec hdr = STRVEC_INIT;
	strvec_push(&hdr, "Accept: application/json");
	if (o->token)
		strvec_pushf(&hdr, "Authorization: Bearer %s", o->token);
	struct httpc_response resp = HTTPC_RESPONSE_INIT;
	struct strbuf url = STRBUF_INIT;
	char *sha = NULL, *next = NULL;
	const char *kind = !strcmp(r.type, "datasets") ? "datasets/" : !strcmp(r.type, "spaces") ? "spaces/" : "";
	size_t before = l->n, listed = 0;
	int rc = -1;

	/* 1. the revision's commit */
	strbuf_addf(&url, "%s/api/%s/%s/revision/", o->endpoint, r.type, r.repo);
	strbuf_add_uri_encoded(&url, r.revision, 0);
	struct httpc_request req = { .url = url.buf, .headers = &hdr, .follow = 1 };
	if (httpc_get(h, &req, &resp) < 0) {
		char *e = xstrdup(eidf_last_error());
		eidf_set_error("%s: cannot reach the Hub: %s; check --hf-endpoint", src, e);
		free(e);
		goto out;
	}
	if (resp.status != 200) {
		hub_error(src, &r, o, "resolving the revision", &resp);
		goto out;
	}
	cJSON *info = cJSON_ParseWithLength(strbuf_str(&resp.body), resp.body.len);
	const cJSON *js = cJSON_GetObjectItem(info, "sha");
	if (cJSON_IsString(js) && is_hex(js->valuestring, 40))
		sha = lower_dup(js->valuestring);
	cJSON_Delete(info);
	if (!sha) {
		eidf_set_error("%s: the Hub's answer for revision %s has no commit sha; check --hf-endpoint", src,
			       r.revision);
		goto out;
	}

	/* 2. the tree at that commit, every page */
	strbuf_reset(&url);
	strbuf_addf(&url, "%s/api/%s/%s/tree/%s", o->endpoint, r.type, r.repo, sha);
	if (*r.path) {
		strbuf_addch(&url, '/');
		strbuf_add_uri_encoded(&url, r.path, 0);
	}
	strbuf_addstr(&url, "?recursive=True&expand=False");
	next = strbuf_detach(&url);
	int single = 0;   /* PATH names a file: list its directory, keep it */
	while (next) {
		req.url = next;
		if (httpc_get(h, &req, &resp) < 0) {
			char *e = xstrdup(eidf_last_error());
			eidf_set_error("%s: cannot list the repo: %s", src, e);
			free(e);
			goto out;
		}
		if (resp.status == 404 && *r.path && !single) {
			/* maybe a file: its directory's listing names it */
			char *hdr_code = httpc_response_header(&resp, "X-Error-Code");
			int entry = !hdr_code || !strcmp(hdr_code, "EntryNotFound");
			free(hdr_code);
			if (entry) {
				single = 1;
				free(next);
				const char *slash = strrchr(r.path, '/');
				strbuf_addf(&url, "%s/api/%s/%s/tree/%s", o->endpoint, r.type, r.repo, sha);
				if (slash) {
					char *dir = xstrndup(r.path, (size_t)(slash - r.path));
					strbuf_addch(&url, '/');
					strbuf_add_uri_encoded(&url, dir, 0);
					free(dir);
				}
				strbuf_addstr(&url, "?recursive=False&expand=False");
				next = strbuf_detach(&url);
				continue;
			}
		}
		if (resp.status != 200) {
			hub_error(src, &r, o, "listing the files", &resp);
			goto out;
		}
		free(next);
		char *link = httpc_response_header(&resp, "Link");
		next = link ? httpc_link_next(link) : NULL;
		free(link);
		if (next && strncmp(next, "http://", 7) && strncmp(next, "https://", 8)) {
			/* a relative next link */
			char *abs = xasprintf("%s%s%s", o->endpoint, next[0] == '/' ? "" : "/", next);
			free(next);
			next = abs;
		}
		cJSON *arr = cJSON_ParseWithLength(strbuf_str(&resp.body), resp.body.len);
		if (!cJSON_IsArray(arr)) {
			cJSON_Delete(arr);
			eidf_set_error("%s: the Hub's tree listing is not a JSON array; check --hf-endpoint", src);
			goto out;
		}
		const cJSON *e;
		cJSON_ArrayForEach(e, arr) {
			const char *type = json_str(e, "type"), *path = json_str(e, "path");
			if (!type || strcmp(type, "file"))
				continue;
			listed++;
			if (!path) {
				cJSON_Delete(arr);
				eidf_set_error("%s: a tree entry without a path", src);
				goto out;
			}
			if (single && strcmp(path, r.path))
				continue;
			if (!fetch_glob_keep(path, o->include, o->exclude))
				continue;
			long size = json_long(e, "size", -1);
			const char *lfs_sha = json_str(e, "lfs.oid");
			const char *oid = json_str(e, "oid");
			char *low = lfs_sha && is_hex(lfs_sha, 64) ? lower_dup(lfs_sha) : NULL;
			struct strbuf u = STRBUF_INIT;
			strbuf_addf(&u, "%s/%s%s/resolve/%s/", o->endpoint, kind, r.repo, sha);
			strbuf_add_uri_encoded(&u, path, 1);
			struct strbuf w = STRBUF_INIT;
			strbuf_addf(&w, "%s: file ", src);
			strbuf_add_quoted_path(&w, path);
			int bad = fetch_list_add_listed(l, u.buf, low, path, size >= 0 ? (long long)size : -1, NULL,
							o->job_token ? FETCH_AUTH_HF : FETCH_AUTH_NONE, w.buf);
			strbuf_release(&u);
			strbuf_release(&w);
			free(low);
			if (bad < 0) {
				cJSON_Delete(arr);
				rc = -2;
				goto out;
			}
			struct fetch_item *it = &l->items[l->n - 1];
			if (!lfs_sha && oid && is_hex(oid, 40))
				it->gitsha1 = lower_dup(oid);
			it->revision = xstrdup(sha);
		}
		cJSON_Delete(arr);
	}
	if (l->n == before) {
		if (single)
			eidf_set_error("%s: no file \"%s\" at revision %s (%s)", src, r.path, r.revision, sha);
		else if (listed)
			eidf_set_error("%s: none of the %zu file(s) is kept by --include/--exclude", src, listed);
		else
			eidf_set_error("%s: no files at revision %s (%s)", src, r.revision, sha);
		goto out;
	}
	if (dest_hint)
		*dest_hint = xstrdup(strchr(r.repo, '/') + 1);
	if (commit) {
		*commit = sha;
		sha = NULL;
	}
	rc = 0;
out:
	httpc_response_release(&resp);
	for (size_t i = 0; i < hdr.n; i++)
		memset(hdr.v[i], 0, strlen(hdr.v[i]));
	strvec_clear(&hdr);
	strbuf_release(&url);
	free(next);
	free(sha);
	hf_ref_release(&r);
	httpc_free(h);
	return rc;
}
