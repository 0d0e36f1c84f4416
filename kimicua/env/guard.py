"""Guards on what an action may do: the URL policy and the key denylist.

Both are checked before anything reaches the screen; a refused action is a failed
ActionResult (``ActionRefused``), never a crash. The URL policy is also handed to the
sandboxed Chromium as an enterprise policy, so a URL typed into the address bar or a
link is refused by the browser itself (see ``chromium_policy``).

URL patterns use Chromium's URLBlocklist/URLAllowlist filter format:
``[scheme://][host][:port][/path-prefix]``, ``*`` for any host, ``scheme:*`` for a
scheme without a host (``data:*``), a leading ``.`` for a host without subdomains.
An allow pattern beats a deny pattern; a URL no pattern names is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from kimicua.env.actions import Action, Hotkey, Key, KeyDown, KeyUp, Navigate
from kimicua.env.keys import normalise_key

DEFAULT_DENY = ("file://*", "chrome://*", "view-source:*", "javascript://*", "data:*", "devtools://*")
# Chromium's own pages a person reaches without asking: a new tab, and the WebUI that
# draws parts of the window itself (the omnibox popup is chrome://omnibox-popup.top-chrome).
ALWAYS_ALLOW = ("about:blank", "chrome://newtab", "chrome://new-tab-page", "chrome://top-chrome")

DEFAULT_DENY_KEYS = (
    "ctrl+alt+delete", "ctrl+alt+backspace", *(f"ctrl+alt+f{i}" for i in range(1, 13)),
)


class ActionRefused(ValueError):
    """An action a guard refuses; the message says which rule and how to allow it."""


def url_matches(pattern: str, url: str) -> bool:
    """Whether ``url`` falls under a Chromium URL-filter ``pattern``."""
    if pattern == "*":
        return True
    parts = urlsplit(url)
    scheme, sep, rest = pattern.partition("://")
    if not sep:
        if pattern.endswith(":*"):  # "data:*": a scheme without "//"
            return parts.scheme.lower() == pattern[:-2].lower()
        scheme, rest = "", pattern
    if scheme and scheme.lower() != parts.scheme.lower():
        return False
    if rest == "*":
        return True
    host, slash, path = rest.partition("/")
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    if name not in ("", "*"):
        exact = name.startswith(".")
        name, actual = name.lstrip(".").lower(), (parts.hostname or "").lower()
        if actual != name and (exact or not actual.endswith("." + name)):
            return False
    elif name == "" and scheme != "file" and parts.hostname:
        return False
    if port and str(parts.port or "") != port:
        return False
    return (parts.path or "/").startswith(slash + path) if slash else True


@dataclass(frozen=True)
class UrlPolicy:
    """Which URLs navigation may reach: ``allow`` (user and task patterns) beats ``deny``."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = DEFAULT_DENY

    def refusal(self, url: str) -> str | None:
        """Why ``url`` is refused, or None when it is allowed."""
        if any(url_matches(p, url) for p in (*self.allow, *ALWAYS_ALLOW)):
            return None
        rule = next((p for p in self.deny if url_matches(p, url)), None)
        if rule is None:
            return None
        return (f"navigation to {url[:200]} refused by the URL policy ({rule}); "
                "allow it with --allow-url")

    def with_allowed(self, *patterns: str) -> UrlPolicy:
        return UrlPolicy(allow=(*self.allow, *patterns), deny=self.deny)

    def chromium_policy(self) -> dict[str, list[str]]:
        """The same rules as a Chromium enterprise policy (managed policies JSON)."""
        return {"URLBlocklist": list(self.deny),
                "URLAllowlist": [*self.allow, *(p for p in ALWAYS_ALLOW if "://" in p)]}


def _chord(spec: str) -> frozenset[str]:
    return frozenset(normalise_key(k) for k in spec.replace(" ", "").split("+") if k)


@dataclass
class KeyGuard:
    """Refuses denied key chords, whether pressed as one Hotkey/Key or built up from
    KeyDowns (it tracks what is held, as the X server would)."""

    deny: tuple[str, ...] = DEFAULT_DENY_KEYS
    _chords: tuple[frozenset[str], ...] = field(init=False, repr=False)
    _held: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self):
        self._chords = tuple(_chord(c) for c in self.deny)

    def _refuse_if(self, keys: set[str]) -> None:
        lowered = {k.lower() if len(k) == 1 else k for k in keys}
        for spec, chord in zip(self.deny, self._chords):
            if chord <= lowered:
                raise ActionRefused(f"key chord {spec} is denied (it can leave the desktop or end the "
                                    "session); change the denylist with --deny-key")

    def check(self, action: Action) -> None:
        match action:
            case Hotkey(keys=keys):
                self._refuse_if({*self._held, *keys})
            case Key(key=key) | KeyDown(key=key):
                self._refuse_if({*self._held, key})

    def executed(self, action: Action) -> None:
        """Track held keys after an action went through."""
        match action:
            case KeyDown(key=key):
                self._held.add(key)
            case KeyUp(key=key):
                self._held.discard(key)

    def release_all(self) -> None:
        self._held.clear()


@dataclass
class Guard:
    """Everything checked before an action is executed."""

    urls: UrlPolicy = field(default_factory=UrlPolicy)
    keys: KeyGuard = field(default_factory=KeyGuard)

    def check(self, action: Action) -> None:
        if isinstance(action, Navigate) and (why := self.urls.refusal(action.url)):
            raise ActionRefused(why)
        self.keys.check(action)
