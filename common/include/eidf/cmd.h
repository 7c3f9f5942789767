/* The runtime shared by every executable: the generic kubectl flags, the
 * subcommand dispatcher, the completion entry points (__complete and the
 * kubectl_complete-* argv[0] mode), and the lazily created API client. */
#ifndef EIDF_CMD_H
#define EIDF_CMD_H

#include "eidf/options.h"
#include "eidf/kubeconfig.h"
#include "eidf/kclient.h"

/* The generic kubectl flags, bound to `kube_flags` below. */
extern const struct option kube_options[];
extern struct kube_flags kube_flags;

struct eidf_cmd {
	const struct stage *stage;
	const struct subcommand *sub;
	struct kube_config config;  /* loaded on first need */
	int config_loaded;
	struct kclient *client;     /* created on first need */
	int completing;             /* short timeouts, no error output */
};

/* main() of a stage executable: completion modes, --help, subcommand
 * dispatch, exit code.  Usage errors exit 2, other errors 1. */
int stage_main(const struct stage *st, int argc, char **argv);

/* Loads kubeconfig and builds the client on first call; prints the error
 * and returns NULL on failure. */
struct kclient *cmd_client(struct eidf_cmd *cmd);
const struct kube_config *cmd_config(struct eidf_cmd *cmd);
/* Resolved namespace (NULL + error printed on kubeconfig failure). */
const char *cmd_namespace(struct eidf_cmd *cmd);
/* Namespace for commands that create objects: refuses "default". */
const char *cmd_project_namespace(struct eidf_cmd *cmd);

/* kubectl arguments that select the cluster, user and namespace this
 * command uses (the generic flags as given, then --namespace=ns), so that a
 * stage can hand a stream to `kubectl exec` and reach the same pod. */
void cmd_kubectl_flags(struct strvec *argv, const char *ns);

/* Completion: print candidates for argv (the words after the program name,
 * last one being completed) following cobra's __complete protocol. Always 0. */
int complete_main(const struct stage *st, int argc, const char **argv);

#endif
