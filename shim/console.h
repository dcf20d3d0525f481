/* console.h: the console socket the runtime sends the pty master over, and terminal resizing. */
#pragma once

#include <stddef.h>

/* Listens on console.sock in the state dir; *path gets its absolute path (malloc'd) for the runtime. */
int console_listen(const char *state_dir, char **path, char *err, size_t errlen);
/* Takes the pty master the runtime sent (SCM_RIGHTS); it is non-blocking and close-on-exec. */
int console_receive(int listen_fd, int *master, char *err, size_t errlen);
int console_resize(int master, unsigned columns, unsigned rows);
