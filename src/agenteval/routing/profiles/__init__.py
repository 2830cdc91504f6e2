"""Prompt profiles: how a routing request is laid out, captured from the installed Claude Code.

`capture` records the exact request the user's `claude` sends (on a loopback server inside
agenteval); `profile` turns it into a template that replays it with only the agent listing and
the request changed. The profile text is Anthropic's: it is read from the user's install at run
time and cached on their disk, never shipped with agenteval.
"""
