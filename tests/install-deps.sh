#!/usr/bin/env bash
# Install what building and testing kubectl-eidf needs, from Debian packages
# (and, with --with-node, the npm packages the manifest validation uses).
# Safe to re-run: does nothing when everything is present.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

pkgs=(build-essential cmake pkg-config git openssl python3 ca-certificates
      libcurl4-openssl-dev libcjson-dev libgit2-dev libarchive-dev libyaml-dev
      libssl-dev libcmocka-dev busybox curl unzip zstd tmux bubblewrap
      patchelf python3-yaml time python3-h2 jq bash-completion zsh fish
      python3-botocore python3-torch)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v kubectl >/dev/null 2>&1 || missing+=(kubectl)
if [ ${#missing[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	echo "install-deps: installing ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# kubernetes-models validates the manifests the stages emit (tests only).
if [ "${1:-}" = --with-node ] && command -v npm >/dev/null 2>&1; then
	if [ ! -d "$here/node_modules/kubernetes-models" ]; then
		echo "install-deps: installing npm packages for manifest validation"
		(cd "$here" && npm install --no-audit --no-fund --silent >/dev/null 2>&1) ||
			echo "install-deps: warning: npm install failed; schema tests will fail" >&2
	fi
fi
