/* exit.h: reaping (the shim is a subreaper) and recording how the process ended in exit.json. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct exit_status {
  pid_t pid;
  int exit_code; /* the code, or 128+N for signal N */
  int signal;    /* N when killed by a signal, else 0 */
  uint64_t exited_at_us;
  bool oom_killed;
};

/* Reaps every exited child; returns true when init_pid was among them, filling *status. */
bool reap_children(pid_t init_pid, struct exit_status *status);
int exit_status_write(int dirfd, const struct exit_status *status);
