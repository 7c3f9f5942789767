/* man(7) pages generated from the same stage and option tables that drive
 * --help, so the two cannot drift apart.  Every stage executable prints its
 * page when run as `kubectl-eidf-STAGE __man` (the build's `man` target). */
#ifndef EIDF_MANPAGE_H
#define EIDF_MANPAGE_H

#include <stdio.h>

#include "eidf/options.h"

/* Write kubectl-eidf-<stage>(1) as troff: NAME, SYNOPSIS, DESCRIPTION, a
 * subsection per subcommand (usage, description, options with enum values
 * and defaults), KUBERNETES OPTIONS once, EXIT STATUS, SEE ALSO. */
void manpage_print(FILE *out, const struct stage *st);

#endif
