"""Model clients: the ModelClient protocol, the Anthropic SDK client, a mock client, prices.

`CLIENTS` is the registry the API router picks its client from (`router.client`); like the
routers, each is imported only when asked for.
"""

CLIENTS: dict[str, str] = {
    "anthropic": "agenteval.models.anthropic:AnthropicClient",
    "mock": "agenteval.models.mock:MockClient",
}
