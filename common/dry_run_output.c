/* What --dry-run=server prints, the same in every stage (kubectl's shape):
 * without -o one "KIND/NAME created (server dry run)" line per object the
 * server accepted; with -o the objects as the server returned them - the
 * object itself when there is one, else a v1 List of all of them, in the
 * order they were sent - which is the shape --dry-run=client prints. */
#include <stdlib.h>

#include "eidf/manifest.h"
#include "eidf/output.h"
#include "eidf/util.h"

int output_server_dry_run(FILE *out, const cJSON *const *objs, size_t n, enum output_format fmt)
{
	int rc = 0;

	if (fmt == OUT_DEFAULT || fmt == OUT_WIDE) {
		for (size_t i = 0; i < n; i++) {
			char *name;
			if (!objs[i])
				continue;
			name = output_name(objs[i]);
			fprintf(out, "%s created (server dry run)\n", name);
			free(name);
		}
		return 0;
	}
	if (n == 1)
		return output_object(out, objs[0], fmt);
	cJSON *items;
	cJSON *list = manifest_list(&items);
	for (size_t i = 0; i < n; i++)
		if (objs[i])
			cJSON_AddItemToArray(items, cJSON_Duplicate(objs[i], 1));
	rc = output_object(out, list, fmt);
	cJSON_Delete(list);
	return rc;
}
