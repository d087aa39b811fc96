"""Agents and nodes: enrollment, the agent link, presence, inventory, config, commands."""
