/* runtime.h: running the OCI runtime (runc's command line) and collecting its own error text. */
#pragma once

#include <stddef.h>

#include "cli.h"
#include "streams.h"

/* create (bundle), run --detach (bundle and --start) or exec -d (exec id), with --pid-file <state>/init.pid
 * and the console socket when console_path is set. Returns 0 when the runtime succeeded; else -1 and err
 * holds the runtime's own error text: its last "error" message in runtime.log, or else what it printed on
 * printed_fds. */
int runtime_start_process(const struct shim_config *cfg, const char *console_path,
                          const struct runtime_stdio *rt, const int printed_fds[2], char *err, size_t errlen);
/* `<runtime> delete -f <id>`: removes a container whose create (or run) did not complete. */
void runtime_delete_force(const struct shim_config *cfg);
