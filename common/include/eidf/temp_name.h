#ifndef EIDF_TEMP_NAME_H
#define EIDF_TEMP_NAME_H

/* The temporary file a copy writes beside PATH before it renames it into
 * place: PATH + SUFFIX (e.g. "data.bin.eidf-part"), as long as that leaf
 * fits in a file name (255 bytes, NAME_MAX on the file systems claims and
 * laptops use).  A leaf too long for that gets, in the same directory,
 * SUFFIX "." and the sha256 of the leaf in hex (".eidf-part.9f86d0..."):
 * still one fixed name per file, so that a later run finds it and resumes,
 * and still told apart as temporary.  A script on the far side that names
 * the same file must follow the same rule (plugins/pvc/pvc-cp.sh, part_of). */
char *temp_name_beside(const char *path, const char *suffix);

/* Whether LEAF, a file name, is such a temporary name for SUFFIX. */
int is_temp_name(const char *leaf, const char *suffix);

#endif
