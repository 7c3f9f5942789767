/* A path inside a claim, as the user wrote it, made clean: one walk that
 * `pvc du|ls` (volume_path in pvc.c) and `pvc cp` (CLAIM:PATH in cp.c)
 * share.  It says what is wrong and lets each caller word the error for
 * its own syntax. */
#ifndef EIDF_PVC_CLAIM_PATH_H
#define EIDF_PVC_CLAIM_PATH_H

enum claim_path_fault {
	CLAIM_PATH_OK = 0,
	CLAIM_PATH_DOTDOT,      /* a ".." component: it would leave the claim */
	CLAIM_PATH_NEWLINE,     /* a newline: the helper's protocol is lines */
};

/* Drop leading, repeated and trailing '/' and "." components; *out is the
 * clean relative path ("" for the root; the caller frees it), NULL when the
 * path is refused (the fault says why). */
enum claim_path_fault claim_path_clean(const char *in, char **out);

#endif
