"""The node agent: the main process of every node container.

It is the local stand-in for Batch's node agent. A ``docker exec`` costs
about 50 ms of CPU (dockerd, containerd, runc) per command; the agent starts
a command with one ``fork``/``exec`` (about 1 ms), so task throughput is no
longer bound by Docker. This file is run as ``python3 -c <source>`` in the
node (the host imports only ``kill_tree`` from it): standard library only,
Python 3.9+. A node image without ``python3`` gets no agent.

The host talks to it over a Unix socket in the agent's own directory (the
one argument), a host folder mounted into this node only and readable by
root only: no other node, and no non-admin task, can reach it. The agent
keeps its secret in memory only and makes itself non-dumpable, so a task
(even one running as root, without ``CAP_SYS_PTRACE``) cannot read it from
``/proc``.

Protocol, one JSON object per line, one request per connection:

* start-up: the agent reads its secret from ``<dir>/token`` and deletes the
  file, listens on ``<dir>/agent.sock``, then prints ``{"agent": 1}`` on its
  stdout (the container's log). With a second argument, the owner's
  lifeline file (see ``lifeline.py``), it waits on that file's lock: once the
  owner is gone, however it died, the agent kills every command and exits,
  and its container goes with it;
* ``{"token", "op": "run", "argv", "env", "cwd", "user": [uid, gid],
  "timeout"}`` with two file descriptors attached (``SCM_RIGHTS``: the
  command's stdout and stderr, opened by the host) answers ``{"pid": P}``
  once the command runs (P is the handle for ``kill``), then ``{"exit": N,
  "timed_out": B}`` when it ends. ``argv`` runs without a shell in a new
  session as ``user`` (root keeps its uid; a non-root agent runs everything
  as itself), with the container's environment plus ``env``. A command that
  cannot start ends with exit code 127 (126: not executable) and the reason
  in its stderr, as ``docker exec`` would. Killed by signal S: exit 128 + S.
  When ``timeout`` seconds pass, its process tree is killed and
  ``timed_out`` is true (``exit`` null);
* ``{"token", "op": "kill", "pid"}`` kills the process tree of a command
  still running (none: nothing to do) and answers ``{"ok": true}``;
* ``{"token", "op": "ping"}`` answers ``{"ok": true}`` (the heartbeat);
* ``{"token", "op": "detach"}``: the node outlives its owner after all (a
  pool kept on purpose); answers ``{"ok": true}``.

A wrong token or a malformed request is answered with ``{"error": text}``.
"""

import array
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading

_token = ""  # set by main()
_detached = threading.Event()  # the node may outlive its owner
_children = {}  # pid -> Popen, for the commands not yet reaped
_children_lock = threading.Lock()
_MAX_REQUEST = 1 << 24


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


def _start_failure(exc, err_fd):
    """The exit code ``docker exec`` gives a command that cannot start, with
    the reason appended to its stderr."""
    os.write(err_fd, ("cannot run the command: %s\n" % exc).encode("utf-8", "replace"))
    return 126 if isinstance(exc, PermissionError) else 127


def _identity(user):
    """Popen keywords that run a command as ``[uid, gid]`` (root only)."""
    if os.geteuid() != 0 or not user:
        return {}
    uid, gid = int(user[0]), int(user[1])
    if uid == 0:
        return {}
    return {"user": uid, "group": gid, "extra_groups": [gid]}


def run(request, fds, reply):
    env = dict(os.environ)
    env.update(request.get("env") or {})
    timeout = request.get("timeout")
    out_fd, err_fd = fds
    try:
        proc = subprocess.Popen(request["argv"], env=env, cwd=request["cwd"],
                                stdin=subprocess.DEVNULL, stdout=out_fd, stderr=err_fd,
                                start_new_session=True, **_identity(request.get("user")))
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        reply({"pid": None})
        reply({"exit": _start_failure(exc, err_fd), "timed_out": False})
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


def kill(request, fds, reply):
    with _children_lock:  # a listed pid is not reaped yet, so not reused
        if request["pid"] in _children:
            kill_tree(request["pid"])
    reply({"ok": True})


def ping(request, fds, reply):
    reply({"ok": True})


def detach(request, fds, reply):
    _detached.set()
    reply({"ok": True})


OPS = {"run": run, "kill": kill, "ping": ping, "detach": detach}
_FDS_NEEDED = {"run": 2, "kill": 0, "ping": 0, "detach": 0}


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        fds = []

        def reply(message):
            sock.sendall(json.dumps(message).encode("utf-8") + b"\n")

        try:
            data, fds = _read_request(sock)
            request = json.loads(data.decode("utf-8"))
            if not isinstance(request, dict) or request.get("token") != _token:
                raise ValueError("wrong token")
            op = OPS[request["op"]]
            if len(fds) != _FDS_NEEDED[request["op"]]:
                raise ValueError("expected %d descriptors" % _FDS_NEEDED[request["op"]])
        except (ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
            for fd in fds:
                os.close(fd)
            try:
                reply({"error": "bad request: %s" % exc})
            except OSError:
                pass
            return
        try:
            op(request, fds, reply)
        finally:
            for fd in fds:
                os.close(fd)


def _read_request(sock):
    """One request line and the descriptors attached to its first bytes."""
    fds = []
    data = b""
    while not data.endswith(b"\n"):
        chunk, ancillary, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(4 * 8))
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                got = array.array("i")
                got.frombytes(payload[:len(payload) - len(payload) % got.itemsize])
                fds.extend(got)
        if not chunk:
            break
        data += chunk
        if len(data) > _MAX_REQUEST:
            for fd in fds:
                os.close(fd)
            raise ValueError("request too long")
    return data, fds


class Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    request_queue_size = 128


def _not_dumpable():
    """PR_SET_DUMPABLE 0: no core dumps, and /proc/<pid>/mem and ptrace need
    CAP_SYS_PTRACE even for a process of the same uid."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(4, 0, 0, 0, 0) == 0  # PR_SET_DUMPABLE
    except (OSError, AttributeError, ImportError):
        return False


def _outlive_no_owner(lifeline):
    """Block until the owner's lock on ``lifeline`` is gone, then end
    everything: the node must not outlive the process that started it."""
    import fcntl
    try:
        fd = os.open(lifeline, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_SH)
    except OSError:
        pass
    if _detached.is_set():
        return
    with _children_lock:
        for pid in list(_children):
            kill_tree(pid)
    os._exit(0)


def main():
    global _token
    _not_dumpable()
    where = sys.argv[1]
    if len(sys.argv) > 2:
        threading.Thread(target=_outlive_no_owner, args=(sys.argv[2],), daemon=True).start()
    token_file = os.path.join(where, "token")
    with open(token_file) as f:
        _token = f.read().strip()
    os.unlink(token_file)
    if not _token:
        sys.exit("no token in %s" % token_file)
    os.chdir(where)  # a relative address: socket paths hold at most 107 bytes
    if os.path.lexists("agent.sock"):
        os.unlink("agent.sock")
    server = Server("agent.sock", Handler)
    os.chmod("agent.sock", 0o600)
    sys.stdout.write(json.dumps({"agent": 1}) + "\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
