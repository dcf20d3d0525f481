/* oom.h: watching the OOM events of a process's memory cgroup (v1 eventfd, v2 inotify). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct oom_watch {
  int version;             /* 1 or 2; 0 when the process has no memory cgroup of its own to watch */
  int fd;                  /* v1: the eventfd; v2: the inotify fd. Poll it for POLLIN. */
  int control_fd;          /* v1: memory.oom_control, which the event is registered on */
  int cgroup_fd;           /* the memory cgroup directory (O_PATH) */
  uint64_t kills_at_start; /* the cgroup's oom_kill counter when the watch began (0 for a fresh one) */
  uint64_t kills_seen;
  unsigned long long events;
};

void oom_watch_init(struct oom_watch *w);
/* Finds pid's memory cgroup and registers for its OOM events. No memory cgroup of its own (the shim's
 * cgroup, or none) is not an error: the watch stays off and says so in shim.log. fresh_cgroup (--start,
 * the process already started in a cgroup made for it): kills are counted from 0, not from now, and a
 * process that has already exited (its cgroup perhaps gone) leaves the watch off instead of failing. */
int oom_watch_start(struct oom_watch *w, pid_t pid, bool fresh_cgroup, char *err, size_t errlen);
/* The watch fd is readable: returns true when it was an OOM event (false for noise, or the cgroup
 * going away, which also ends the watch). */
bool oom_watch_event(struct oom_watch *w);
/* At exit: did the kernel OOM-kill any process of the cgroup since the watch began? */
bool oom_watch_killed(struct oom_watch *w);
void oom_watch_stop(struct oom_watch *w);
/* Rewrites the state dir's oom file: {"count":N,"last_at":µs}. */
void oom_record(int dirfd, unsigned long long count, uint64_t at_us);
