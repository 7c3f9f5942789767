# Shared set-up of the devrun cluster tests (sourced after start_cluster and
# with NS set): git identity, a bare repository served by git daemon on
# 127.0.0.1 ($GIT_DAEMON_URL), and helpers to read devrun's output.
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.org \
	GIT_COMMITTER_NAME=T GIT_COMMITTER_EMAIL=t@example.org
DR="kubectl-eidf-devrun -n $NS"
RES="--image busybox:latest --cpu 100m --memory 128Mi"

start_git_daemon || exit 1
job_of() { sed -n 's|^devrun: job.batch/\([^ ]*\) created.*|\1|p' "$1"; }
run_of() { sed -n 's|^devrun: job.batch/[^ ]* created (run \([a-z0-9]*\)).*|\1|p' "$1"; }
