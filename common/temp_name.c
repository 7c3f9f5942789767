#include "eidf/temp_name.h"

#include <string.h>

#include "eidf/util.h"

/* The longest file name Linux file systems take (ext4, xfs, tmpfs, NFS,
 * CephFS); pathconf would ask the one at hand, but the far side of a copy
 * must get the same answer without asking ours. */
#define LEAF_MAX 255

char *temp_name_beside(const char *path, const char *suffix)
{
	const char *slash = strrchr(path, '/');
	const char *leaf = slash ? slash + 1 : path;
	if (strlen(leaf) + strlen(suffix) <= LEAF_MAX)
		return xasprintf("%s%s", path, suffix);
	char h[65];
	sha256_hex(leaf, strlen(leaf), h);
	return xasprintf("%.*s%s.%s", (int)(leaf - path), path, suffix, h);
}

int is_temp_name(const char *leaf, const char *suffix)
{
	size_t n = strlen(leaf), s = strlen(suffix);
	if (n > s && !strcmp(leaf + n - s, suffix))
		return 1;
	if (n != s + 1 + 64 || strncmp(leaf, suffix, s) || leaf[s] != '.')
		return 0;
	return strspn(leaf + s + 1, "0123456789abcdef") == 64;
}
