"""agenteval: score how well a model routes requests to Claude Code subagents."""
