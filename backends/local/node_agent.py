"""The node agent: the main process of every node container.

It is the local stand-in for Batch's node agent. A ``docker exec`` costs
about 50 ms of CPU (dockerd, containerd, runc) per command; the agent starts
a command with one ``fork``/``exec`` (about 1 ms), so task throughput is no
longer bound by Docker. The host talks to it over loopback TCP (containers use
host networking). This file is run as ``python3 -c <source>`` in the node
(the host imports only ``kill_tree`` from it): standard
library only, Python 3.8+. A node image without ``python3`` gets no agent.

Protocol, one JSON object per line, one request per connection:

* start-up: the agent reads its secret from the file named by its one
  argument and deletes the file (commands never see the secret: not in their
  environment, not on disk), then prints ``{"port": P}`` on its stdout (the
  container's log);
* ``{"token", "op": "run", "argv", "env", "cwd", "stdout", "stderr",
  "timeout"}`` answers ``{"pid": P}`` once the command runs (P is the handle
  for ``kill``), then ``{"exit": N, "timed_out": B}`` when it ends. ``argv``
  runs without a shell in a new session, with the container's environment
  plus ``env``, its output appended to the two files. A command that cannot
  start ends with exit code 127 (126: not executable) and the reason in its
  stderr file, as ``docker exec`` would. Killed by signal S: exit 128 + S.
  When ``timeout`` seconds pass, its process tree is killed and
  ``timed_out`` is true (``exit`` null);
* ``{"token", "op": "kill", "pid"}`` kills the process tree of a command
  still running (none: nothing to do) and answers ``{"ok": true}``.

A wrong token or a malformed request is answered with ``{"error": text}``.
"""

import json
import os
import signal
import socketserver
import subprocess
import sys
import threading

_token = ""  # set by main()
_children = {}  # pid -> Popen, for the commands not yet reaped
_children_lock = threading.Lock()


def kill_tree(pid):
    """SIGKILL the session of ``pid`` and every descendant of ``pid`` (from
    this container's /proc: a command that left its session is still found
    while its parent lives)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    todo, tree = [pid], []
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    for member in tree:
        try:
            os.kill(member, signal.SIGKILL)
        except OSError:
            pass


def _start_failure(exc, stderr_path):
    """The exit code ``docker exec`` gives a command that cannot start, with
    the reason appended to its stderr file."""
    with open(stderr_path, "ab") as err:
        err.write(("cannot run the command: %s\n" % exc).encode("utf-8", "replace"))
    return 126 if isinstance(exc, PermissionError) else 127


def run(request, reply):
    env = dict(os.environ)
    env.update(request.get("env") or {})
    timeout = request.get("timeout")
    with open(request["stdout"], "ab") as out, open(request["stderr"], "ab") as err:
        try:
            proc = subprocess.Popen(request["argv"], env=env, cwd=request["cwd"],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)
        except OSError as exc:
            reply({"pid": None})
            reply({"exit": _start_failure(exc, request["stderr"]), "timed_out": False})
            return
    with _children_lock:
        _children[proc.pid] = proc
    timed_out = False
    try:
        reply({"pid": proc.pid})
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_tree(proc.pid)
            code = proc.wait()
    finally:
        with _children_lock:
            del _children[proc.pid]
        if not timed_out and proc.returncode is None:  # the host went away
            kill_tree(proc.pid)
            proc.wait()
    reply({"exit": None if timed_out else (128 - code if code < 0 else code),
           "timed_out": timed_out})


def kill(request, reply):
    with _children_lock:  # a listed pid is not reaped yet, so not reused
        if request["pid"] in _children:
            kill_tree(request["pid"])
    reply({"ok": True})


OPS = {"run": run, "kill": kill}


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        def reply(message):
            self.wfile.write(json.dumps(message).encode("utf-8") + b"\n")
            self.wfile.flush()

        try:
            request = json.loads(self.rfile.readline().decode("utf-8"))
            if request.get("token") != _token:
                raise ValueError("wrong token")
            op = OPS[request["op"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            reply({"error": "bad request: %s" % exc})
            return
        op(request, reply)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    request_queue_size = 128


def main():
    global _token
    with open(sys.argv[1]) as f:
        _token = f.read().strip()
    os.unlink(sys.argv[1])
    if not _token:
        sys.exit("no token in %s" % sys.argv[1])
    server = Server(("127.0.0.1", 0), Handler)
    sys.stdout.write(json.dumps({"port": server.server_address[1]}) + "\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
