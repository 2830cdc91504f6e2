"""The one engine every model call goes through: concurrency, budget, cache, cost."""
