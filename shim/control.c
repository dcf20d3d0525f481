/* control.c: see control.h. */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

void control_init(struct control *c) {
  *c = (struct control){.fd = -1};
}

static bool parse(const char *line, struct control_command *cmd) {
  if (strcmp(line, "closestdin") == 0) {
    *cmd = (struct control_command){.op = CONTROL_CLOSE_STDIN};
    return true;
  }
  unsigned columns, rows;
  int end = 0;
  if (sscanf(line, "resize %5u %5u%n", &columns, &rows, &end) == 2 && line[end] == '\0' && columns > 0 &&
      rows > 0 && columns <= 65535 && rows <= 65535) {
    *cmd = (struct control_command){.op = CONTROL_RESIZE, .columns = columns, .rows = rows};
    return true;
  }
  return false;
}

static void handle_line(struct control *c, control_handler handle, void *ctx) {
  c->line[c->len] = '\0';
  if (c->len > 0 && c->line[c->len - 1] == '\r')
    c->line[c->len - 1] = '\0';
  struct control_command cmd;
  if (parse(c->line, &cmd))
    handle(ctx, &cmd);
  else
    diag("control.fifo: ignoring unknown command '%s'", c->line);
}

void control_pump(struct control *c, control_handler handle, void *ctx) {
  char buf[512];
  ssize_t n = read_retry(c->fd, buf, sizeof(buf));
  if (n < 0) {
    if (errno != EAGAIN)
      diag("reading control.fifo: %s", strerror(errno));
    return;
  }
  for (ssize_t i = 0; i < n; i++) {
    if (buf[i] == '\n') {
      if (c->overlong)
        diag("control.fifo: ignoring a line longer than %zu bytes", sizeof(c->line) - 1);
      else
        handle_line(c, handle, ctx);
      c->len = 0;
      c->overlong = false;
    } else if (c->len < sizeof(c->line) - 1) {
      c->line[c->len++] = buf[i];
    } else {
      c->overlong = true;
    }
  }
}
