"""Who may reach `archive serve`: the rules, in one place for the CLI and the app.

- Binding anything but loopback makes the archive reachable from other machines: that needs a
  token (every request must carry it) or an explicit `--no-auth`; a token has at least 8 characters.
- The Host header must name this server (DNS rebinding): a web page the user visits can point a
  name it owns at 127.0.0.1, and the browser would then let it read the archive. On loopback the
  server answers only to 127.0.0.1, localhost and ::1; bound to an address, to that address too;
  bound to every address (0.0.0.0), to any name unless `--allow-host` lists them. `--allow-host`
  adds the names colleagues use (`archive.office.local`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from archive.errors import ArchiveError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARD = ("0.0.0.0", "::", "")
MIN_TOKEN = 8


@dataclass(frozen=True)
class ServePolicy:
    host: str
    port: int
    token: str | None = None
    allowed_hosts: tuple[str, ...] | None = None  # None: any Host header
    notes: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        """The address to open, token included (URL-encoded)."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}/" + (f"?token={quote(self.token, safe='')}" if self.token else "")


def decide(host: str, port: int, token: str | None, no_auth: bool, allow_hosts: list[str] | None = None) -> ServePolicy:
    """The policy for these options; ArchiveError (one line, what to do) when they are unsafe."""
    if host not in LOOPBACK and not token and not no_auth:
        raise ArchiveError(f"--host {host} makes the archive reachable from other machines: "
                           "pass --token SECRET (every request must then carry it) or --no-auth")
    if token is not None and len(token) < MIN_TOKEN:
        raise ArchiveError(f"--token must be at least {MIN_TOKEN} characters")
    extra = tuple(name.strip().lower() for name in allow_hosts or () if name.strip())
    if host in WILDCARD and not extra:
        allowed = None
    else:
        own = () if host in WILDCARD else (host.lower(),)
        allowed = tuple(dict.fromkeys((*LOOPBACK, *own, *extra)))
    return ServePolicy(host, port, token, allowed)


def host_name(header: str) -> str:
    """The name in a Host header, without its port: `localhost:8000` → `localhost`, `[::1]:80` → `::1`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def host_allowed(header: str | None, allowed: tuple[str, ...] | None) -> bool:
    if allowed is None:
        return True
    return header is not None and host_name(header) in allowed
