"""Local emulators of the five vendor clouds, each a real HTTP server on 127.0.0.1.

>>> with start("oqc") as emu:            # doctest: +SKIP
...     print(emu.url, emu.token)

Each speaks its vendor's REST protocol (the vendor's own SDK works against it unchanged)
with a Qiskit Aer simulator behind it. Requires the ``emulator`` extra
(``pip install "qiskit-multicloud[emulator]"``).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any

from ..config import VendorSettings
from ..exceptions import ConfigurationError

__all__ = ["EmulatorHandle", "settings_for", "start"]


class EmulatorHandle:
    """A running emulator: its URL, accepted token, and the app (jobs, faults, stats)."""

    def __init__(self, vendor: str, app: Any, server: Any, thread: threading.Thread) -> None:
        self.vendor = vendor
        self.app = app
        self._server = server
        self._thread = thread
        self.url: str = app.base_url
        self.token: str = app.token

    def __repr__(self) -> str:
        state = "running" if self._thread.is_alive() else "stopped"
        return f"EmulatorHandle({self.vendor!r}, url={self.url!r}, {state})"

    def settings(self) -> VendorSettings:
        """Adapter settings pointing at this emulator."""
        settings: VendorSettings = self.app.client_settings()
        return settings

    @property
    def faults(self) -> Any:
        """The :class:`~qiskit_multicloud.emulators.faults.FaultInjector`."""
        return self.app.faults

    @property
    def stats(self) -> Any:
        """The :class:`~qiskit_multicloud.emulators.app.RequestStats`."""
        return self.app.stats

    @property
    def jobs(self) -> Any:
        """The :class:`~qiskit_multicloud.emulators.jobs.JobTable`."""
        return self.app.jobs

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        self.app.faults.release()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(
    vendor: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    latency: float | None = None,
    **config: Any,
) -> EmulatorHandle:
    """Start one vendor's emulator in a background thread.

    Args:
        vendor: vendor key (``"oqc"``, ``"oqtopus"``, ``"iqm"``, ``"qoro"``, ``"qilimanjaro"``).
        host: loopback address to bind.
        port: TCP port; 0 picks a free one.
        latency: seconds added to every request (a cloud's round trip, e.g. 0.05), the
            ``latency`` setting of the emulator's faults; ``None`` keeps ``faults``' own.
        config: fields of :class:`~qiskit_multicloud.emulators.app.EmulatorConfig`
            (``token``, ``queue_delay``, ``run_time``, ``seed``, ``clock``, ``faults``,
            ``options``).

    Raises:
        ConfigurationError: the emulator extra is not installed, or the host is not loopback.
    """
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise ConfigurationError(f"emulators only bind loopback addresses, not {host!r}")
    try:
        from werkzeug.serving import WSGIRequestHandler, make_server

        from ..vendors import plugin
        from .app import EmulatorConfig
        from .faults import FaultConfig
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigurationError(
            'the emulators need the "emulator" extra: pip install "qiskit-multicloud[emulator]"'
        ) from exc

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return None

        def log(self, type: str, message: str, *args: Any) -> None:
            logging.getLogger(__name__).debug(message, *args)

    if latency is not None:
        if latency < 0:
            raise ConfigurationError(f"latency must be >= 0 seconds, not {latency}")
        faults = config.get("faults") or FaultConfig()
        config["faults"] = dataclasses.replace(faults, latency=latency)
    app = plugin(vendor).emulator(EmulatorConfig(**config))
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    server.daemon_threads = True  # type: ignore[attr-defined]
    app.base_url = f"http://{host}:{server.server_port}"
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.02},  # stop() returns within ~20 ms
        name=f"{vendor}-emulator",
        daemon=True,
    )
    thread.start()
    return EmulatorHandle(vendor, app, server, thread)


def settings_for(vendor: str, url: str, token: str) -> VendorSettings:
    """Adapter settings for an emulator running elsewhere (e.g. ``qiskit-multicloud emulate``).

    Args:
        vendor: vendor key.
        url: the URL the emulator printed.
        token: the token the emulator printed.
    """
    from ..vendors import plugin
    from .app import EmulatorConfig

    app = plugin(vendor).emulator(EmulatorConfig(token=token))
    app.base_url = url.rstrip("/")
    settings: VendorSettings = app.client_settings()
    return settings
