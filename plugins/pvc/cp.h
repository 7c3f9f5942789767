/* kubectl eidf pvc cp: files and directories to and from a claim, through
 * a helper Job and `kubectl exec` (cp_session.h), resumable and verified. */
#ifndef EIDF_PVC_CP_H
#define EIDF_PVC_CP_H

#include "eidf/cmd.h"
#include "eidf/options.h"

extern const struct option cp_opts[];
int cmd_cp(struct eidf_cmd *cmd, int argc, const char **argv);
/* CLAIM: names, and paths inside a claim through a kept helper Job. */
void cp_complete(const char *prefix, struct strvec *out, void *ctx);

/* "CLAIM:PATH" -> claim and a clean relative path ("." for the root).
 * 0 when arg is not remote (no valid claim name before a ':'); 1 when
 * it is; -1 (error set) when the path is refused (absolute, "..", a
 * newline). */
int cp_parse_remote(const char *arg, char **claim, char **rel);

#endif
