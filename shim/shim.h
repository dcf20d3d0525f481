/* shim.h: the long-lived shim's state, from start-up (start.c) through its event loop (loop.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cli.h"
#include "control.h"
#include "log.h"
#include "oom.h"
#include "streams.h"

struct shim {
  const struct shim_config *cfg;
  int dirfd;      /* the state dir */
  int signal_fd;  /* SIGCHLD and the signals the shim ignores */
  int exit_fifo;  /* held open for writing: EOF for readers once the shim is gone */
  int master;     /* the pty master with --terminal, else -1 */
  pid_t init_pid; /* from init.pid */
  struct out_stream out[2];
  struct in_stream in;
  struct control control;
  struct log_sink sink;
  struct oom_watch oom;
};

void shim_init(struct shim *s, const struct shim_config *cfg, int dirfd);
/* From fork to "created": session, subreaper, shim.pid, FIFOs, the runtime, the OOM watch (and with
 * --start the runtime's start and started.json). On failure
 * everything it made is removed (and a half-created container deleted), and err says why. */
int shim_start(struct shim *s, char *err, size_t errlen);
/* Relays stdio, applies control commands, reaps; returns the shim's exit code once exit.json is written. */
int shim_loop(struct shim *s);
void shim_close(struct shim *s);
