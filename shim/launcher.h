/* launcher.h: `berth-shim --launcher`, berthd's fork server (docs/shim.md "Launcher mode"). */
#pragma once

/* Runs the requests read on stdin and writes their replies on stdout until stdin ends (or a frame is
 * out of sync) and every child it started is reaped; returns the process's exit status. */
int launcher_main(void);
