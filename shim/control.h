/* control.h: one-line commands from berthd on control.fifo: "resize <columns> <rows>", "closestdin". */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum control_op { CONTROL_RESIZE, CONTROL_CLOSE_STDIN };

struct control_command {
  enum control_op op;
  unsigned columns, rows;
};

struct control {
  int fd; /* control.fifo opened read-write, so berthd closing its end is no EOF */
  char line[128];
  size_t len;
  bool overlong; /* skipping the rest of a line that did not fit */
};

typedef void (*control_handler)(void *ctx, const struct control_command *cmd);

void control_init(struct control *c);
/* Reads what is available and calls handle for every valid command; bad lines go to shim.log. */
void control_pump(struct control *c, control_handler handle, void *ctx);
