/* main.c: berth-shim's entry: arguments, the FIFOs, the fork, and the first process's report. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "launcher.h"
#include "shim.h"
#include "streams.h"
#include "util.h"

static const char usage[] =
    "BERTH-SHIM(8)                     berth                     BERTH-SHIM(8)\n"
    "\n"
    "NAME\n"
    "       berth-shim - keep one container process alive for berthd\n"
    "\n"
    "SYNOPSIS\n"
    "       berth-shim --id ID --state-dir DIR --runtime PATH --runtime-root DIR\n"
    "                  (--bundle DIR [--start] | --exec-id EXEC_ID)\n"
    "                  [--runtime-arg ARG]... [--name NAME] [--terminal] [--stdin]\n"
    "                  [--log-driver journald|file|none] [--log-path PATH]\n"
    "       berth-shim --launcher\n"
    "\n"
    "DESCRIPTION\n"
    "       berth-shim is started by berthd, once for a container's init and once for\n"
    "       each exec'd process. It forks: the first process exits once the runtime\n"
    "       has created the process (with --start: and started it); the second\n"
    "       lives on as a child subreaper, out of berthd's process tree, relays the\n"
    "       process's stdio, records an OOM kill and the exit status in the state\n"
    "       dir, and exits after the process does. It is an internal interface of\n"
    "       berth (docs/shim.md), described here for the administrator debugging a\n"
    "       host.\n"
    "\n"
    "OPTIONS\n"
    "       --id ID            container id, ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$\n"
    "       --state-dir DIR    existing directory the shim owns:\n"
    "                          /run/berth/containers/<id> for the init,\n"
    "                          .../<id>/processes/<exec-id> for an exec'd process\n"
    "       --runtime PATH     OCI runtime with runc's command line (runc, crun)\n"
    "       --runtime-root DIR passed to the runtime as --root DIR\n"
    "       --runtime-arg ARG  extra global runtime argument before the subcommand;\n"
    "                          repeatable (e.g. --systemd-cgroup)\n"
    "       --bundle DIR       create mode: RUNTIME create --bundle DIR\n"
    "                          --pid-file STATE/init.pid [--console-socket S] ID\n"
    "       --start            create mode: RUNTIME run --detach (same options) in\n"
    "                          place of create, then the OOM watch (registered after\n"
    "                          the start: kills count from the new cgroup's first,\n"
    "                          and a process already gone leaves it off), before\n"
    "                          the first process exits; a failed run is cleaned up\n"
    "                          as a failed create\n"
    "       --exec-id EXEC_ID  exec mode: RUNTIME exec -d --pid-file STATE/init.pid\n"
    "                          --process STATE/process.json [--console-socket S] ID\n"
    "       --name NAME        CONTAINER_NAME and SYSLOG_IDENTIFIER for journald\n"
    "                          (default: the id)\n"
    "       --terminal         the process has a terminal (process.terminal): the pty\n"
    "                          master comes over STATE/console.sock\n"
    "       --stdin            keep stdin open: the process reads the stdin FIFO;\n"
    "                          without it, its stdin is /dev/null\n"
    "       --log-driver D     file (default), journald or none\n"
    "       --log-path PATH    the file driver's file (default STATE/log)\n"
    "       -h, --help         print this page\n"
    "\n"
    "LAUNCHER MODE\n"
    "       berth-shim --launcher is berthd's fork server: berthd starts it once and\n"
    "       has it run every process it needs (this shim, the runtime's start, kill,\n"
    "       delete...), so that berthd itself never forks. Requests come on stdin,\n"
    "       replies go to stdout, in frames of little-endian u32 (docs/shim.md):\n"
    "         request  length, id, flags (1: capture stdout), timeout ms (0: none),\n"
    "                  output cap, argc, then argc NUL-terminated strings\n"
    "         reply    length, id, result (0 exited, 1 signaled, 2 not run),\n"
    "                  value (exit code, signal or errno), flags (1: timed out),\n"
    "                  stdout length, stderr length, then the bytes\n"
    "       Many requests run at once. A child's stdin is /dev/null, its stdout a pipe\n"
    "       or /dev/null, its stderr a pipe, its environment the launcher's, and it\n"
    "       has no other fd; past its timeout it is sent SIGKILL. A bad request gets a\n"
    "       \"not run\" reply; a frame length out of range gets one with id 0, and no\n"
    "       more requests are read. When stdin ends, the launcher starts nothing\n"
    "       more and exits once every child it started has been reaped.\n"
    "\n"
    "FILES (in the state dir)\n"
    "       shim.pid      the long-lived shim's pid\n"
    "       init.pid      the process's pid (written by the runtime)\n"
    "       exit.fifo     held open for writing while the shim lives: EOF = shim gone\n"
    "       exit.json     {\"pid\",\"exit_code\",\"signal\",\"exited_at\",\"oom_killed\"},\n"
    "                     written (tmp + rename) when the process exits; exit_code is\n"
    "                     128+N for signal N; exited_at in microseconds, realtime\n"
    "       oom           {\"count\",\"last_at\"}, rewritten on every OOM event\n"
    "       started.json  --start: {\"started_at\"}, when the shim issued the run\n"
    "                     (microseconds, realtime); written (tmp + rename) once the\n"
    "                     run succeeded\n"
    "       control.fifo  commands, one a line: \"resize COLUMNS ROWS\", \"closestdin\"\n"
    "       stdin         FIFO into the process (read only with --stdin)\n"
    "       stdout stderr FIFOs out of the process, written only while a reader has them\n"
    "                     open; a terminal's output all goes to stdout\n"
    "       log           container output in the CRI format (file driver):\n"
    "                     <RFC3339Nano UTC> stdout|stderr F|P <text>\n"
    "       runtime.log   the runtime's own log (JSON)\n"
    "       shim.log      the shim's diagnostics\n"
    "       console.sock  the console socket, only while the runtime runs\n"
    "       process.json  exec mode: the OCI process, written by berthd\n"
    "\n"
    "ENVIRONMENT\n"
    "       BERTH_JOURNAL_SOCKET  the journal's socket for the journald driver\n"
    "                             (default /run/systemd/journal/socket)\n"
    "\n"
    "OUTPUT\n"
    "       Container output is always read and given to the log driver, whether a\n"
    "       FIFO reader is attached or not: a container never blocks on its output.\n"
    "       Journald entries carry CONTAINER_ID, CONTAINER_NAME, SYSLOG_IDENTIFIER\n"
    "       and PRIORITY 6 (stdout) or 3 (stderr); output that ended without a\n"
    "       newline is a partial record (P, or CONTAINER_PARTIAL_MESSAGE=true).\n"
    "\n"
    "SIGNALS\n"
    "       The long-lived shim ignores SIGTERM, SIGINT and SIGHUP (noted in\n"
    "       shim.log): it exits when its process does. SIGKILL abandons the process:\n"
    "       no exit.json is written, and berthd treats the container as lost.\n"
    "\n"
    "EXIT STATUS (of the first process)\n"
    "       0   created: shim.pid and init.pid exist, the OOM watch is registered;\n"
    "           with --start also started, and started.json exists\n"
    "       1   the runtime or the set-up failed; stderr says why (the runtime's own\n"
    "           error text) and nothing is left behind\n"
    "       2   bad arguments; nothing was created\n";

/* The child's report to the first process on the sync pipe: "0", or "1" and the error text. */
static void report(int sync_fd, bool ok, const char *err) {
  int r = write_all(sync_fd, ok ? "0" : "1", 1);
  if (r == 0 && !ok)
    r = write_all(sync_fd, err, strlen(err));
  if (r < 0)
    diag("reporting to the starter: %s", strerror(-r));
}

static int run_shim(const struct shim_config *cfg, int dirfd, int sync_fd) {
  struct shim s;
  char err[ERR_MAX] = "";
  shim_init(&s, cfg, dirfd);
  if (shim_start(&s, err, sizeof(err)) < 0) {
    shim_close(&s);
    report(sync_fd, false, err);
    close_fd(&sync_fd);
    diag_close();
    return SHIM_EXIT_FAILED;
  }
  report(sync_fd, true, NULL);
  close_fd(&sync_fd);
  int code = shim_loop(&s);
  shim_close(&s);
  diag_close();
  return code;
}

/* Reads the child's report; true when it created the process. */
static bool await_report(int sync_fd, char *err, size_t errlen) {
  size_t len = 0;
  ssize_t n;
  while (len < errlen - 1 && (n = read_retry(sync_fd, err + len, errlen - 1 - len)) > 0)
    len += (size_t)n;
  err[len] = '\0';
  if (len > 0 && err[0] == '0')
    return true;
  if (len == 0)
    snprintf(err, errlen, "the shim died during set-up (see shim.log in the state dir)");
  else
    memmove(err, err + 1, len);
  return false;
}

int main(int argc, char **argv) {
  struct shim_config cfg;
  char err[ERR_MAX];
  /* Writes to a departed reader (a FIFO, the starter's stderr) report EPIPE instead of killing us. The
   * runtime gets the default back (runtime.c). */
  signal(SIGPIPE, SIG_IGN);
  close_inherited_fds();
  if (argc > 1 && strcmp(argv[1], "--launcher") == 0) {
    if (argc == 2)
      return launcher_main();
    dprintf(STDERR_FILENO, "berth-shim: --launcher takes no other argument\nTry 'berth-shim --help'.\n");
    return SHIM_EXIT_USAGE;
  }
  switch (cli_parse(argc, argv, &cfg, err, sizeof(err))) {
  case CLI_HELP:
    cli_free(&cfg);
    return write_all(STDOUT_FILENO, usage, sizeof(usage) - 1) < 0 ? SHIM_EXIT_FAILED : SHIM_EXIT_OK;
  case CLI_ERROR:
    dprintf(STDERR_FILENO, "berth-shim: %s\nTry 'berth-shim --help'.\n", err);
    cli_free(&cfg);
    return SHIM_EXIT_USAGE;
  case CLI_OK:
    break;
  }
  int code = SHIM_EXIT_FAILED;
  int dirfd = open(cfg.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int sync_fds[2] = {-1, -1};
  if (dirfd < 0) {
    snprintf(err, sizeof(err), "state dir %s: %s", cfg.state_dir, strerror(errno));
    goto fail;
  }
  if (fifos_create(dirfd, err, sizeof(err)) < 0)
    goto fail;
  pid_t child = -1;
  if (pipe2(sync_fds, O_CLOEXEC) < 0 || (child = fork()) < 0) {
    snprintf(err, sizeof(err), "%s: %s", sync_fds[0] < 0 ? "pipe" : "fork", strerror(errno));
    fifos_remove(dirfd);
    goto fail;
  }
  if (child == 0) {
    close_fd(&sync_fds[0]);
    code = run_shim(&cfg, dirfd, sync_fds[1]);
    close_fd(&dirfd);
    cli_free(&cfg);
    return code;
  }
  close_fd(&sync_fds[1]);
  if (await_report(sync_fds[0], err, sizeof(err))) {
    code = SHIM_EXIT_OK;
    goto done;
  }
  /* The child has undone its part; reap it so that no process stays behind, then undo ours. */
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
    ;
  fifos_remove(dirfd);
fail:
  dprintf(STDERR_FILENO, "berth-shim: %s\n", err);
done:
  close_fd(&sync_fds[0]);
  close_fd(&sync_fds[1]);
  close_fd(&dirfd);
  cli_free(&cfg);
  return code;
}
