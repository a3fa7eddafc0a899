"""A tiny threaded socket server on 127.0.0.1 that misbehaves on purpose.

Modes (``HostileServer(mode)``):

* ``frozen``: accepts connections and never sends a byte;
* ``trickle``: sends valid headers announcing a JSON body, then one byte every
  ``interval`` seconds;
* ``trickle_headers``: sends the status line and headers one byte every ``interval``
  seconds (never reaching the body);
* ``retry_later``: answers ``503`` with ``Retry-After: 30``;
* ``ok``: answers ``200 {"ok": true}`` at once;
* ``gzip_bomb``: answers ``200`` with ``Content-Encoding: gzip`` and ``payload`` (bytes).

With ``tls=(certfile, keyfile)`` connections are wrapped in TLS first.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from types import TracebackType


class HostileServer:
    """Start with ``with HostileServer("frozen") as server: server.url``."""

    def __init__(
        self,
        mode: str,
        *,
        interval: float = 0.05,
        payload: bytes = b"",
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.mode = mode
        self.interval = interval
        self.payload = payload
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._tls: ssl.SSLContext | None = None
        if tls is not None:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(*tls)
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self.connections = 0
        self.requests: list[bytes] = []
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for sock in self._held:
            with contextlib.suppress(OSError):
                sock.close()
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            self._held.append(client)
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            if self._tls is not None:
                client = self._tls.wrap_socket(client, server_side=True)
                self._held.append(client)
            client.settimeout(5)
            self.requests.append(client.recv(65536))
            if self.mode == "frozen":
                self._stop.wait(30)
            elif self.mode == "retry_later":
                client.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\n"
                    b"Content-Length: 0\r\n\r\n"
                )
            elif self.mode == "ok":
                body = b'{"ok": true}'
                client.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
            elif self.mode == "gzip_bomb":
                client.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Encoding: gzip\r\n"
                    + f"Content-Length: {len(self.payload)}\r\n\r\n".encode()
                    + self.payload
                )
            elif self.mode == "trickle_headers":
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: "
                head += b"x" * 100_000
                for index in range(len(head)):
                    client.sendall(head[index : index + 1])
                    if self._stop.wait(self.interval):
                        return
            elif self.mode == "trickle":
                body = b'{"status": "' + b"x" * 2000 + b'"}'
                client.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                )
                for index in range(len(body)):
                    client.sendall(body[index : index + 1])
                    if self._stop.wait(self.interval):
                        return
