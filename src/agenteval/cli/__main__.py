"""`python -m agenteval.cli`: the `agenteval` command."""

from agenteval.cli import main

if __name__ == "__main__":
    main()
