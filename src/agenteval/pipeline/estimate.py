"""`agenteval estimate`: requests, tokens and cost of a run, without routing anything."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

from agenteval.execution.estimate import Estimate, estimate_run
from agenteval.execution.runner import RunPlan
from agenteval.pipeline.inputs import build_router, open_cache, prepare
from agenteval.routing import PreparedRouter, Router, router_capabilities, router_factory
from agenteval.routing.profiles.profile import PLACEMENTS
from agenteval.settings import RunSettings


def estimate_eval(
    settings: RunSettings, say: Callable[[str], object] = lambda message: None
) -> Estimate:
    """Estimate requests, tokens and cost of a run without routing anything.

    Needs no API key (estimating spends nothing): a router that needs one is built to price
    requests only. Counts tokens with the API when the key is set, else approximates offline.
    ``say`` is told when the installed CLI is run (to read its request layout).
    """
    _, cases, views = prepare(settings)
    online = bool(os.environ.get(settings.api_key_env))
    router: Router
    if router_capabilities(settings.backend).needs_api_key and not online:
        factory = router_factory(settings.backend)
        router = factory.from_options(settings.router_options, offline=True)
    else:
        router = build_router(settings)
    if isinstance(router, PreparedRouter):
        router.prepare(say)
    cache = open_cache(settings)
    try:
        plan = RunPlan(cases=cases, views=views, trials=settings.trials)
        main = estimate_run(router, plan, cache=cache, online=online, batch=settings.batch)
        with_placement = getattr(router, "with_placement", None)
        if main.placement is not None and with_placement is not None:  # a captured profile
            each = tuple(
                estimate_run(
                    with_placement(p), plan, cache=cache, online=online, batch=settings.batch
                )
                for p in PLACEMENTS
            )
            main = replace(main, placements=each)
        return main
    finally:
        if cache is not None:
            cache.close()
