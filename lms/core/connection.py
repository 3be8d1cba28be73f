"""What the server can tell about the client's connection while it handles a request."""

import select
import socket

from flask import request


def client_disconnected() -> bool:
    """Return True if the client has closed its connection: nobody is waiting for this answer.

    A login that sat in the server's queue past the phone's timeout would otherwise still spend
    its password hash, slowing every login behind it. Reads the socket gunicorn or Werkzeug put
    in the WSGI environ without consuming anything; False when there is no socket to ask.
    """
    sock = request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")
    if not isinstance(sock, socket.socket):
        return False
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN | getattr(select, "POLLRDHUP", 0))
        events = poller.poll(0)
        if not events:
            return False  # still connected, nothing more sent: the usual case
        flags = events[0][1]
        if flags & (select.POLLHUP | select.POLLERR | getattr(select, "POLLRDHUP", 0)):
            return True
        # Readable: the end of the stream (closed), or the next pipelined request (still there).
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
