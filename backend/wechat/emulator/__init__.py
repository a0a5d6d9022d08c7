"""A strict stand-in for WeChat's servers, for development, tests and demos (never production).

It answers the endpoints the gateway uses with WeChat's JSON shapes and error codes: single-use
login and phone codes for named test users, stable access tokens, one-time subscribe credits,
template data validation, content security verdicts, mini-program code PNGs. It can be told to fail
(errcodes, delays, dropped connections, a random fraction of calls) so tests can prove nothing is lost.

Control endpoints for tests and demos live under ``/_emulator/``; WeChat has nothing like them.
State is in memory, guarded by one lock; being an HTTP server, it serves any number of processes.

A room of its own, apart from the production gateway (backend/wechat/gateway/):

- ``server.py``: the Flask app, ``EmulatorServer`` (a thread on loopback) and ``run_emulator``;
- ``routes.py``: the endpoints WeChat has, and the faults injected before them;
- ``control.py``: the ``/_emulator/`` control API and its client, ``EmulatorControl``;
- ``index.py``: the root page, which says in Chinese what this server is and what it answers;
- ``state.py``: what the emulator remembers; ``rules.py``: WeChat's rules it enforces.
"""

from __future__ import annotations

from backend.wechat.emulator.control import EmulatorControl
from backend.wechat.emulator.server import EmulatorServer, create_emulator_app, run_emulator
from backend.wechat.emulator.state import EmulatorState

__all__ = ["EmulatorControl", "EmulatorServer", "EmulatorState", "create_emulator_app", "run_emulator"]
