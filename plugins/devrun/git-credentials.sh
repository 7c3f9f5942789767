# devrun: git's credentials from the mounted --git-secret, shared by the init
# container (init-code.sh) and a session's code agent (session-agent.sh),
# which each start with this text.  POSIX sh.
#
#   git_credentials SECRET_DIR TMP_DIR
#
# SECRET_DIR holds ssh-privatekey (or identity, id_ed25519, id_rsa) and
# known_hosts for ssh URLs, or token (or password) and username for https
# URLs.  An ssh key is copied into TMP_DIR (ssh wants mode 0600) and used
# through GIT_SSH_COMMAND; a token is read by a GIT_ASKPASS script in TMP_DIR
# each time git asks, straight from the Secret: it never appears in an
# argument, the environment, the Job or a log.  TMP_DIR must be private.
git_credentials() {
	gc_secret=$1 gc_tmp=$2
	[ -n "$gc_secret" ] || return 0
	gc_key=
	for gc_f in ssh-privatekey identity id_ed25519 id_rsa; do
		if [ -f "$gc_secret/$gc_f" ]; then gc_key=$gc_secret/$gc_f; break; fi
	done
	if [ -n "$gc_key" ]; then
		cp "$gc_key" "$gc_tmp/devrun-ssh-key"
		chmod 600 "$gc_tmp/devrun-ssh-key"
		if [ -f "$gc_secret/known_hosts" ]; then
			cp "$gc_secret/known_hosts" "$gc_tmp/devrun-known-hosts"
			gc_check=yes
		else
			: >"$gc_tmp/devrun-known-hosts"
			gc_check=accept-new
		fi
		export GIT_SSH_COMMAND="ssh -i $gc_tmp/devrun-ssh-key -o IdentitiesOnly=yes -o UserKnownHostsFile=$gc_tmp/devrun-known-hosts -o StrictHostKeyChecking=$gc_check"
	fi
	if [ -f "$gc_secret/token" ] || [ -f "$gc_secret/password" ]; then
		cat >"$gc_tmp/devrun-askpass" <<'ASKPASS'
#!/bin/sh
d=$EIDF_GIT_SECRET_DIR
case $1 in
Username*|username*)
	if [ -f "$d/username" ]; then cat "$d/username"; else echo x-access-token; fi ;;
*)
	if [ -f "$d/token" ]; then cat "$d/token"; else cat "$d/password"; fi ;;
esac
ASKPASS
		chmod 700 "$gc_tmp/devrun-askpass"
		export EIDF_GIT_SECRET_DIR="$gc_secret" GIT_ASKPASS="$gc_tmp/devrun-askpass"
	fi
}
