#!/usr/bin/env bash
# kubectl eidf pvc cp and the names a file system allows: a file whose name
# is too long to take the ".eidf-part" suffix (over 245 of NAME_MAX's 255
# bytes, counted in bytes, not characters) is written beside it as
# ".eidf-part.<sha256 of the name>" on either side, which the client and the
# claim's script must name alike for a dropped stream to resume; and names
# shaped like shell text travel as data, never as commands.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pvc-cp.sh"

start_cluster --eidf-policy --tenant eidf042ns

same_files() { diff -r "$1" "$2" && test "$(ls -A "$1" | wc -l)" = "$(ls -A "$2" | wc -l)"; }
name_of() { # CHAR COUNT: the character repeated
	python3 -c 'import sys; print(sys.argv[1] * int(sys.argv[2]))' "$1" "$2"
}

test_expect_success 'setup: a claim and names of 245 to 255 bytes, multi-byte ones too' '
	kubectl eidf pvc create data --size 1Gi --wait=30s &&
	mkdir long &&
	echo 245 >"long/$(name_of a 245)" &&
	echo 246 >"long/$(name_of b 246)" &&
	echo 255 >"long/$(name_of c 255)" &&
	echo e-acute >"long/$(name_of é 123)" &&
	echo euro >"long/$(name_of € 85)" &&
	head -c 2097152 /dev/urandom >"long/$(name_of d 250)"
'

test_expect_success 'upload and download them: the same names and bytes, no part left' '
	kubectl eidf pvc cp long data:long --keep -o json >out.json &&
	test "$(json_field out.json files)" = 6 &&
	vol=$(cluster_volume_dir data) &&
	same_files long "$vol/long" && no_part_files "$vol" &&
	kubectl eidf pvc cp data:long back -o json >out.json &&
	test "$(json_field out.json files)" = 6 &&
	same_files long back && no_part_files back
'

test_expect_success 'an upload of a long name dropped half-way resumes from its part on the claim' '
	L=$(name_of f 250) &&
	head -c 4194304 /dev/urandom >"$L" &&
	cluster_fault cut --path "/pods/.*/exec" --bytes 2500000 &&
	kubectl eidf pvc cp "$L" "data:$L" -o json >out.json 2>err &&
	test_grep "the stream to pod .* dropped" err &&
	test "$(json_field out.json resumed)" = 1 &&
	test "$(json_field out.json resentBytes)" -le 1048576 &&
	vol=$(cluster_volume_dir data) &&
	cmp "$L" "$vol/$L" && no_part_files "$vol"
'

test_expect_success 'a download of a long name dropped half-way resumes from its local part' '
	L=$(name_of f 250) &&
	mkdir down &&
	cluster_fault cut --path "/pods/.*/exec" --bytes 2500000 &&
	kubectl eidf pvc cp "data:$L" down/ -o json >out.json 2>err &&
	test_grep "the stream to pod .* dropped" err &&
	test "$(json_field out.json resumed)" = 1 &&
	test "$(json_field out.json resentBytes)" -le 1048576 &&
	cmp "$L" "down/$L" && no_part_files down
'

test_expect_success 'a long name part is never copied as a file (either way)' '
	vol=$(cluster_volume_dir data) &&
	mkdir -p parts && echo keep >parts/keep &&
	echo stale >"parts/.eidf-part.$(printf %s "$(name_of g 250)" | sha256sum | cut -d" " -f1)" &&
	kubectl eidf pvc cp parts data:parts -o json >out.json 2>err &&
	test "$(json_field out.json files)" = 1 &&
	test_grep "skipping parts/.eidf-part.[0-9a-f]*: an unfinished download" err &&
	test "$(ls -A "$vol/parts")" = keep &&
	cp "parts/.eidf-part."* "$vol/parts/" &&
	kubectl eidf pvc cp data:parts parts-back -o json >out.json 2>err &&
	test "$(json_field out.json files)" = 1 &&
	test_grep "skipping data:parts/.eidf-part.[0-9a-f]*: an unfinished upload" err &&
	test "$(ls -A parts-back)" = keep
'

test_expect_success 'names shaped like shell text are data on both sides' '
	mkdir shell &&
	for n in "\$(touch PWNED)" "\`touch PWNED\`" "*" "back\\slash" " lead" "trail " "-n" "a\"b" "it'"'"'s" \
		"semi;colon" "$(printf "cr\rx")" "tab	x"; do
		printf "%s\n" "$n" >"shell/$n" || return 1
	done &&
	kubectl eidf pvc cp shell data:shell -o json >out.json &&
	test "$(json_field out.json files)" = 12 &&
	vol=$(cluster_volume_dir data) &&
	same_files shell "$vol/shell" &&
	kubectl eidf pvc cp data:shell shell-back >/dev/null &&
	same_files shell shell-back &&
	test ! -e /PWNED && test ! -e PWNED && test -z "$(find "$vol" -name PWNED)"
'

test_done
