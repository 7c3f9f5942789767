# Shared set-up of the devrun cluster tests (sourced after start_cluster and
# with NS set): git identity, a bare repository served by git daemon on
# 127.0.0.1 ($port), and helpers to read devrun's output.
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.org \
	GIT_COMMITTER_NAME=T GIT_COMMITTER_EMAIL=t@example.org
DR="kubectl-eidf-devrun -n $NS"
RES="--image busybox:latest --cpu 100m --memory 128Mi"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p srv && git init -q --bare -b main srv/repo.git
git daemon --base-path="$TRASH/srv" --export-all --enable=upload-pack --enable=receive-pack --reuseaddr \
	--listen=127.0.0.1 --port="$port" --pid-file="$TRASH/daemon.pid" --detach
test_atexit 'kill $(cat "$TRASH/daemon.pid")'
for i in $(seq 50); do
	git ls-remote "git://127.0.0.1:$port/repo.git" >/dev/null 2>&1 && break
	sleep 0.1
done
job_of() { sed -n 's|^devrun: job.batch/\([^ ]*\) created.*|\1|p' "$1"; }
run_of() { sed -n 's|^devrun: job.batch/[^ ]* created (run \([a-z0-9]*\)).*|\1|p' "$1"; }
