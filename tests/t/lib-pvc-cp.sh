# Shared by the pvc cp tests (t0220-t0223).
#
# json_field FILE KEY   one field of pvc cp's -o json summary
# no_part_files DIR     no part (NAME.eidf-part, .eidf-part.SHA256, a batch's
#                       staging directory) is left under DIR
# same_tree A B         the files, directories, symlinks, modes, sizes and
#                       bytes under A and B are equal
json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
no_part_files() { test -z "$(find "$1" -name "*.eidf-part*")"; }
same_tree() {
	(cd "$1" && find . -printf "%p %y %m %s %l\n" | sort) >tree1 &&
	(cd "$2" && find . -printf "%p %y %m %s %l\n" | sort) >tree2 &&
	test_cmp tree1 tree2 &&
	(cd "$1" && find . -type f -exec sha256sum {} + | sort) >sum1 &&
	(cd "$2" && find . -type f -exec sha256sum {} + | sort) >sum2 &&
	test_cmp sum1 sum2
}
