/* User defaults: ${XDG_CONFIG_HOME:-~/.config}/kubectl-eidf/config.yaml,
 * overlaid by a per-repo .eidf.yaml when a stage loads one; flags beat both.
 * Nested YAML mappings are flattened to dotted keys ("devrun.image"). */
#ifndef EIDF_SETTINGS_H
#define EIDF_SETTINGS_H

#include "eidf/util.h"

/* Value for a key, or dflt.  The user file is read on first use. */
const char *setting(const char *key, const char *dflt);
/* List value (YAML sequence, or comma-separated string) appended to out. */
void setting_list(const char *key, struct strvec *out);
/* Read the user file now, if not yet read.  Every command calls it before it
 * runs (stage_main), so an unknown key or a syntax error is reported whatever
 * the command, not only by those that happen to read a setting. */
void settings_load_user(void);
/* Overlay a repo file (e.g. "<root>/.eidf.yaml"); missing file is fine.
 * -1 with error on malformed YAML. */
int settings_load_repo(const char *path);
/* Path of the user config file (caller frees). */
char *settings_user_path(void);
void settings_reset(void); /* tests */
/* The keys that exist (NULL-terminated; each stage passes the list generated
 * from docs/configuration.md).  Once set, a file that sets any other key gets
 * a warning naming it and the closest known key (devrun.gpuu: did you mean devrun.gpu). */
void settings_set_known(const char *const *keys);
/* The known key closest to a misspelt one, or NULL when none is close. */
const char *settings_closest_key(const char *key);

/* Known GPU products (EIDF's list unless setting "gpu-products" overrides). */
void gpu_products(struct strvec *out);

#endif
