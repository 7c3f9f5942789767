# Runs inside the short-lived helper Job of `kubectl eidf pvc df|du|ls`
# (busybox sh).  Arguments arrive as argv, never spliced into this text:
#   $1 = df | du | ls, $2 = mount point, $3 = path below it, $4 = depth
# Output lines are prefixed so the client can tell them from noise:
#   eidf-pvc df SIZE_KIB USED_KIB AVAIL_KIB
#   eidf-pvc du KIB PATH
#   eidf-pvc ls TYPE SIZE MTIME NAME      (TYPE: d, f, l or o)
#   eidf-pvc error MESSAGE
set -u
mode=$1 mnt=$2 rel=${3:-} depth=${4:-1}
case "$rel" in
	/*|../*|*/../*|..|*/..) echo "eidf-pvc error path \"$rel\" leaves the volume"; exit 2 ;;
esac
target=$mnt${rel:+/$rel}
if [ ! -e "$target" ]; then echo "eidf-pvc error path \"$rel\" does not exist on the volume"; exit 3; fi
case "$mode" in
df)
	# POSIX df: 1024-byte blocks; the second line holds the numbers.
	df -Pk "$mnt" | awk 'NR==2 { print "eidf-pvc df", $2, $3, $4 }'
	;;
du)
	du -k -d "$depth" "$target" 2>/dev/null | while IFS= read -r line; do
		kib=${line%%	*} path=${line#*	}
		path=${path#"$mnt"}
		echo "eidf-pvc du $kib ${path:-/}"
	done
	;;
ls)
	if [ -d "$target" ]; then
		for f in "$target"/* "$target"/.[!.]* "$target"/..?*; do
			[ -e "$f" ] || [ -L "$f" ] || continue
			if [ -L "$f" ]; then t=l; elif [ -d "$f" ]; then t=d; elif [ -f "$f" ]; then t=f; else t=o; fi
			echo "eidf-pvc ls $t $(stat -c '%s %Y' "$f") ${f##*/}"
		done
	else
		echo "eidf-pvc ls f $(stat -c '%s %Y' "$target") ${target##*/}"
	fi
	;;
*)
	echo "eidf-pvc error unknown mode $mode"; exit 2 ;;
esac
echo "eidf-pvc done"
