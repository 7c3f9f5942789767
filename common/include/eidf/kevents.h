/* Why a pod is stuck, from its events: the kubelet and the scheduler say it
 * only there (FailedMount, FailedScheduling, FailedCreatePodSandBox ...),
 * never in the pod's status. */
#ifndef EIDF_KEVENTS_H
#define EIDF_KEVENTS_H

struct kclient;

struct kevent_warning {
	char *reason;    /* "FailedMount" */
	char *message;   /* "MountVolume.SetUp failed for volume ..." */
};

/* The newest Warning event about the object KIND/NAME in NS (one LIST with
 * field selectors), leaving out events with reason `skip` (may be NULL: e.g.
 * FailedScheduling, which the scheduler repeats, when the caller already
 * shows the pod's PodScheduled condition).  Returns 1 and fills *out
 * (release with kevent_warning_release), 0 when there is none, -1 on an API
 * error (eidf_last_error()); a 403 counts as none. */
int kevents_latest_warning(struct kclient *kc, const char *ns, const char *kind, const char *name,
			   const char *skip, struct kevent_warning *out);
void kevent_warning_release(struct kevent_warning *w);

#endif
