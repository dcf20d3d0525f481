/* exit.c: see exit.h. */
#include "exit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "util.h"

bool reap_children(pid_t init_pid, struct exit_status *status) {
  bool init_exited = false;
  for (;;) {
    int wstatus;
    pid_t pid = waitpid(-1, &wstatus, WNOHANG);
    if (pid < 0 && errno == EINTR)
      continue;
    if (pid < 0 && errno != ECHILD)
      diag("waitpid: %s", strerror(errno));
    if (pid <= 0)
      return init_exited;
    if (pid != init_pid)
      continue;
    init_exited = true;
    *status = (struct exit_status){.pid = pid, .exited_at_us = now_realtime_us()};
    if (WIFSIGNALED(wstatus)) {
      status->signal = WTERMSIG(wstatus);
      status->exit_code = 128 + status->signal;
    } else {
      status->exit_code = WEXITSTATUS(wstatus);
    }
  }
}

int exit_status_write(int dirfd, const struct exit_status *status) {
  char json[160];
  int n =
      snprintf(json, sizeof(json),
               "{\"pid\":%d,\"exit_code\":%d,\"signal\":%d,\"exited_at\":%" PRIu64 ",\"oom_killed\":%s}\n",
               (int)status->pid, status->exit_code, status->signal, status->exited_at_us,
               status->oom_killed ? "true" : "false");
  return write_file_atomic(dirfd, "exit.json", json, (size_t)n);
}
