/* oom.c: see oom.h. */
#include "oom.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "util.h"

struct memory_cgroup {
  int version;
  char path[PATH_MAX]; /* inside the hierarchy, from /proc/<pid>/cgroup */
};

void oom_watch_init(struct oom_watch *w) {
  *w = (struct oom_watch){.fd = -1, .control_fd = -1, .cgroup_fd = -1};
}

/* The memory controller's cgroup from /proc/<pid>/cgroup: a v1 "N:...memory...:/path" line wins
 * (hybrid hosts), else the v2 "0::/path" line. */
static int memory_cgroup_of(const char *proc_file, struct memory_cgroup *cg) {
  char buf[4096];
  ssize_t n = read_file_at(AT_FDCWD, proc_file, buf, sizeof(buf));
  if (n < 0)
    return (int)n;
  cg->version = 0;
  char *save = NULL;
  for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *controllers = strchr(line, ':');
    char *path = controllers ? strchr(controllers + 1, ':') : NULL;
    if (!path)
      continue;
    *controllers++ = '\0';
    *path++ = '\0';
    bool v1_memory = false;
    char *csave = NULL;
    for (char *c = strtok_r(controllers, ",", &csave); c; c = strtok_r(NULL, ",", &csave))
      v1_memory |= strcmp(c, "memory") == 0;
    bool v2 = strcmp(line, "0") == 0 && *controllers == '\0';
    if (v1_memory || (v2 && cg->version == 0)) {
      cg->version = v1_memory ? 1 : 2;
      snprintf(cg->path, sizeof(cg->path), "%s", path);
    }
  }
  return 0;
}

/* Whether a mount's root (the part of the hierarchy it shows) holds path; sets *rest to what follows. */
static bool root_holds(const char *root, const char *path, const char **rest) {
  if (strcmp(root, "/") == 0) {
    *rest = path;
    return true;
  }
  size_t n = strlen(root);
  if (strncmp(path, root, n) != 0 || (path[n] != '/' && path[n] != '\0'))
    return false;
  *rest = path + n;
  return true;
}

/* The directory of the cgroup at path in the hierarchy, from /proc/self/mountinfo: a mount of fstype
 * "cgroup" with the memory option (v1) or "cgroup2" (v2) whose root holds path. */
static int cgroup_dir(int version, const char *path, char *dir, size_t size) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return -errno;
  char *line = NULL;
  size_t cap = 0;
  int r = -ENOENT;
  while (r == -ENOENT && getline(&line, &cap, f) > 0) {
    char *sep = strstr(line, " - ");
    if (!sep)
      continue;
    *sep = '\0';
    char fstype[32], source[64], options[512], root[PATH_MAX], point[PATH_MAX];
    const char *rest;
    if (sscanf(sep + 3, "%31s %63s %511s", fstype, source, options) != 3 ||
        sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) != 2 || !root_holds(root, path, &rest))
      continue;
    bool match = false;
    if (version == 2) {
      match = strcmp(fstype, "cgroup2") == 0;
    } else if (strcmp(fstype, "cgroup") == 0) {
      char *save = NULL;
      for (char *o = strtok_r(options, ",", &save); o; o = strtok_r(NULL, ",", &save))
        match |= strcmp(o, "memory") == 0;
    }
    if (match)
      r = (size_t)snprintf(dir, size, "%s%s", point, rest) < size ? 0 : -ENAMETOOLONG;
  }
  free(line);
  fclose(f);
  return r;
}

/* The "<key> N" counter in a cgroup's memory.oom_control (v1) or memory.events (v2). */
static int read_counter(int cgroup_fd, const char *file, const char *key, uint64_t *value) {
  char buf[1024];
  ssize_t n = read_file_at(cgroup_fd, file, buf, sizeof(buf));
  if (n < 0)
    return (int)n;
  size_t klen = strlen(key);
  for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    unsigned long long v;
    if (strncmp(line, key, klen) == 0 && line[klen] == ' ' &&
        parse_uint(line + klen + 1, ULLONG_MAX, &v) == 0) {
      *value = v;
      return 0;
    }
  }
  return -ENOENT;
}

static const char *counter_file(const struct oom_watch *w) {
  return w->version == 1 ? "memory.oom_control" : "memory.events";
}

static int register_v1(struct oom_watch *w, const char *dir, char *err, size_t errlen) {
  w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->fd < 0)
    return fail(err, errlen, "OOM watch: eventfd: %s", strerror(errno));
  w->control_fd = openat(w->cgroup_fd, "memory.oom_control", O_RDONLY | O_CLOEXEC);
  if (w->control_fd < 0)
    return fail(err, errlen, "OOM watch: %s/memory.oom_control: %s", dir, strerror(errno));
  _cleanup_close_ int event_control = openat(w->cgroup_fd, "cgroup.event_control", O_WRONLY | O_CLOEXEC);
  if (event_control < 0)
    return fail(err, errlen, "OOM watch: %s/cgroup.event_control: %s", dir, strerror(errno));
  char line[32];
  int n = snprintf(line, sizeof(line), "%d %d", w->fd, w->control_fd);
  int r = write_all(event_control, line, (size_t)n);
  if (r < 0)
    return fail(err, errlen, "OOM watch: registering on %s/cgroup.event_control: %s", dir, strerror(-r));
  return 0;
}

static int register_v2(struct oom_watch *w, const char *dir, char *err, size_t errlen) {
  w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (w->fd < 0)
    return fail(err, errlen, "OOM watch: inotify_init1: %s", strerror(errno));
  char file[PATH_MAX];
  if ((size_t)snprintf(file, sizeof(file), "%s/memory.events", dir) >= sizeof(file))
    return fail(err, errlen, "OOM watch: cgroup path too long");
  if (inotify_add_watch(w->fd, file, IN_MODIFY) < 0)
    return fail(err, errlen, "OOM watch: inotify on %s: %s", file, strerror(errno));
  return 0;
}

/* Whether pid has exited (a zombie, or gone): its cgroup is no longer to be found from /proc. */
static bool process_exited(pid_t pid) {
  char file[64], buf[512];
  snprintf(file, sizeof(file), "/proc/%d/stat", (int)pid);
  ssize_t n = read_file_at(AT_FDCWD, file, buf, sizeof(buf));
  const char *end = n > 0 ? strrchr(buf, ')') : NULL;
  return !end || end[1] != ' ' || end[2] == 'Z' || end[2] == 'X';
}

static int watch(struct oom_watch *w, pid_t pid, char *err, size_t errlen) {
  char proc_file[64];
  snprintf(proc_file, sizeof(proc_file), "/proc/%d/cgroup", (int)pid);
  struct memory_cgroup target, self;
  int r = memory_cgroup_of(proc_file, &target);
  if (r < 0)
    return fail(err, errlen, "OOM watch: reading %s: %s", proc_file, strerror(-r));
  if (memory_cgroup_of("/proc/self/cgroup", &self) < 0)
    self.version = 0;
  if (target.version == 0 || strcmp(target.path, "/") == 0 ||
      (self.version == target.version && strcmp(self.path, target.path) == 0)) {
    diag("OOM watch off: process %d has no memory cgroup of its own%s", (int)pid,
         process_exited(pid) ? " (it has exited: a v1 zombie shows the root)" : "");
    return 0;
  }
  char dir[PATH_MAX];
  r = cgroup_dir(target.version, target.path, dir, sizeof(dir));
  if (r < 0)
    return fail(err, errlen, "OOM watch: no mount of the cgroup v%d memory hierarchy shows %s: %s",
                target.version, target.path, strerror(-r));
  w->cgroup_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (w->cgroup_fd < 0)
    return fail(err, errlen, "OOM watch: memory cgroup %s: %s", dir, strerror(errno));
  w->version = target.version;
  if (target.version == 2 && faccessat(w->cgroup_fd, "memory.events", F_OK, 0) < 0) {
    diag("OOM watch off: %s has no memory controller (no memory.events)", dir);
    oom_watch_stop(w);
    return 0;
  }
  r = w->version == 1 ? register_v1(w, dir, err, errlen) : register_v2(w, dir, err, errlen);
  if (r < 0)
    return r;
  diag("watching OOM events of %s (cgroup v%d)", dir, w->version);
  return 0;
}

int oom_watch_start(struct oom_watch *w, pid_t pid, bool fresh_cgroup, char *err, size_t errlen) {
  if (watch(w, pid, err, errlen) < 0) {
    oom_watch_stop(w);
    /* Registered after the process started: it may have exited, and its cgroup gone with it. */
    if (!fresh_cgroup || !process_exited(pid))
      return -1;
    diag("OOM watch off: process %d exited before the watch: %s", (int)pid, err);
    return 0;
  }
  /* A cgroup new with the process counts every kill, even one before the watch was registered. */
  if (fresh_cgroup || read_counter(w->cgroup_fd, counter_file(w), "oom_kill", &w->kills_at_start) < 0)
    w->kills_at_start = 0;
  w->kills_seen = w->kills_at_start;
  return 0;
}

bool oom_watch_event(struct oom_watch *w) {
  if (w->version == 1) {
    uint64_t n;
    if (read_retry(w->fd, &n, sizeof(n)) != sizeof(n)) {
      if (errno != EAGAIN)
        diag("OOM watch: reading eventfd: %s", strerror(errno));
      return false;
    }
    /* v1 also signals the eventfd when the cgroup is removed. */
    if (faccessat(w->cgroup_fd, "memory.oom_control", F_OK, 0) < 0) {
      diag("OOM watch: the memory cgroup is gone");
      oom_watch_stop(w);
      return false;
    }
    w->events += n;
    return true;
  }
  char buf[1024] __attribute__((aligned(__alignof__(struct inotify_event))));
  bool gone = false;
  ssize_t n;
  while ((n = read_retry(w->fd, buf, sizeof(buf))) > 0)
    for (char *p = buf; p < buf + n; p += sizeof(struct inotify_event) + ((struct inotify_event *)p)->len)
      gone |= (((struct inotify_event *)p)->mask & IN_IGNORED) != 0;
  uint64_t kills;
  bool oom = read_counter(w->cgroup_fd, "memory.events", "oom_kill", &kills) == 0 && kills > w->kills_seen;
  if (oom) {
    w->events += kills - w->kills_seen;
    w->kills_seen = kills;
  }
  if (gone) {
    diag("OOM watch: the memory cgroup is gone");
    oom_watch_stop(w);
  }
  return oom;
}

bool oom_watch_killed(struct oom_watch *w) {
  if (w->cgroup_fd < 0)
    return w->events > 0;
  uint64_t kills;
  if (read_counter(w->cgroup_fd, counter_file(w), "oom_kill", &kills) == 0)
    return kills > w->kills_at_start;
  /* Kernels before 4.13 have no v1 oom_kill counter: an OOM event is the best evidence there is. */
  return w->events > 0;
}

void oom_watch_stop(struct oom_watch *w) {
  close_fd(&w->fd);
  close_fd(&w->control_fd);
  close_fd(&w->cgroup_fd);
}

void oom_record(int dirfd, unsigned long long count, uint64_t at_us) {
  char json[96];
  int n = snprintf(json, sizeof(json), "{\"count\":%llu,\"last_at\":%" PRIu64 "}\n", count, at_us);
  int r = write_file_atomic(dirfd, "oom", json, (size_t)n);
  if (r < 0)
    diag("writing the oom file: %s", strerror(-r));
  else
    diag("OOM event %llu", count);
}
