"""The settings that decide what two runs' numbers mean side by side (`RunFacts`), and which of
them differ.

The same settings are comparable; another router (backend, model, prompt profile) on the same
cases is an agreement comparison, not a regression; another holdout or number of trials is not
comparable. The catalog's fingerprint is named when it differs, never refused: a changed catalog
is what a comparison usually measures. `scoring.compare` pairs the cases; this module is what the
history and the baseline choice need without it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


def __getattr__(name: str) -> tuple[str, ...]:
    """`ROUTER_SETTINGS` (another value: agreement, not a regression) and `MEASURE_SETTINGS`
    (another value: not comparable), from the settings' roles; computed when first asked, so
    reading a saved run (the history's facts) loads no settings."""
    if name not in ("ROUTER_SETTINGS", "MEASURE_SETTINGS"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from agenteval.settings import AGREEMENT, MEASUREMENT, compared_facts

    kind = AGREEMENT if name == "ROUTER_SETTINGS" else MEASUREMENT
    found = tuple(k for k, v in compared_facts().items() if v == kind)
    globals()[name] = found
    return found


@dataclass(frozen=True, kw_only=True)
class RunFacts:
    """The settings that decide whether two runs' numbers can be compared: the catalog, and one
    fact for each setting that declares one (`settings.compared_facts`).

    ``catalog`` is the catalog's fingerprint, ``router`` the backend, ``prompt`` the prompt
    profile (None for routers without one); ``trials`` the trials asked per case.
    """

    catalog: str | None
    holdout: str
    router: str
    model: str | None
    prompt: str | None
    trials: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class SettingDifference:
    """One setting that differs between the runs, as text (``none`` when unset)."""

    name: str
    a: str
    b: str


def differences(a: RunFacts | None, b: RunFacts | None) -> tuple[SettingDifference, ...]:
    """The settings that differ, in a fixed order; none when either run's are unknown."""
    if a is None or b is None:
        return ()
    found = []
    for name in (f.name for f in fields(RunFacts)):
        x, y = getattr(a, name), getattr(b, name)
        if x != y:
            found.append(SettingDifference(name=name, a=_shown(name, x), b=_shown(name, y)))
    return tuple(found)


def measured_alike(a: RunFacts, b: RunFacts) -> bool:
    """Whether run B can be checked for a regression against run A: every setting but the
    catalog (the thing a change usually edits) is the same."""
    return all(d.name == "catalog" for d in differences(a, b))


def _shown(name: str, value: Any) -> str:
    if value is None:
        return "none"
    return str(value)[:12] if name == "catalog" else str(value)
