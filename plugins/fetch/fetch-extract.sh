# fetch-extract: the entry point of the fetch Job's `extract` container
# (POSIX sh), which runs after the `fetch` container has downloaded this
# pod's files.
#
# Invoked as: sh -c "$script" fetch-extract "$python_source" ARGS...
# where the Python source is plugins/fetch/fetch-extract.py (it decides and
# does the extraction; see there for ARGS).  This wrapper only finds a
# Python 3 in the image: an image without one cannot extract, which is exit
# 6 (the image cannot extract), with a line `fetch status` shows.
set -u
src=$1
shift
for py in python3 python; do
	if command -v "$py" >/dev/null 2>&1 &&
		"$py" -c 'import sys; sys.exit(sys.version_info < (3, 8))' 2>/dev/null; then
		exec "$py" -c "$src" "$@"
	fi
done
why="the extract image has no Python 3.8 or later; use --extract-image with one (e.g. python:3.14-alpine)"
printf 'eidf-fetch: error: cannot extract: %s\n' "$why"
printf 'eidf-fetch error code=6 reason=cannot extract: %s\n' "$why"
exit 6
