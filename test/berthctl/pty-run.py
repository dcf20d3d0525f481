# Test helper (no real terminal exists in CI): runs a command on a new pty, as a session leader with it
# as the controlling tty, so resizing the pty sends the command SIGWINCH as a terminal emulator would.
#   pty-run.py '[[ROWS, COLS], [WAIT_FOR_TEXT, ACTION], ...]' COMMAND [ARG...]
# ACTION: ["resize", ROWS, COLS] | ["write", TEXT] | ["sleep", SECONDS]. Each step waits until the output
# so far contains WAIT_FOR_TEXT. Prints everything the command wrote and exits with its exit code.
import fcntl, json, os, pty, select, struct, sys, termios, time
steps = json.loads(sys.argv[1])
rows, cols = steps.pop(0)
argv = sys.argv[2:]
pid, master = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
def setsize(r, c):
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", r, c, 0, 0))
setsize(rows, cols)
out = b""
deadline = time.time() + 30
def pump(timeout):
    global out
    r, _, _ = select.select([master], [], [], timeout)
    if r:
        try:
            data = os.read(master, 4096)
        except OSError:
            return False
        if not data:
            return False
        out += data
    return True
alive = True
for step in steps:
    want, action = step[0], step[1]
    while alive and want.encode() not in out and time.time() < deadline:
        alive = pump(0.1)
    if action[0] == "resize":
        setsize(action[1], action[2])
    elif action[0] == "write":
        os.write(master, action[1].encode())
    elif action[0] == "sleep":
        time.sleep(action[1])
while alive and time.time() < deadline:
    alive = pump(0.1)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
