/* placeholder; replaced by the real implementation */
typedef int eidf_util_placeholder;
