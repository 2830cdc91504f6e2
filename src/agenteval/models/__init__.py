"""Model clients: the ModelClient protocol, the Anthropic SDK client, a mock client, prices."""
