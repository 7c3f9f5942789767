/* Container image references as Docker and Kubernetes read them
 * ([registry[:port]/]path[:tag][@sha256:hex]), checked before a Job is
 * built so that a typo is a usage error here, not an ErrImagePull later. */
#ifndef EIDF_IMAGE_REF_H
#define EIDF_IMAGE_REF_H

/* 0 when `ref` is a valid reference; -1 with eidf_last_error() saying what
 * is wrong ("... is not a valid image reference: ' ' is not allowed"). */
int image_ref_check(const char *ref);

#endif
