"""Wire messages shared by agent and server.

Every frame on the agent link is `{"type", "id", "body"}` encoded as JSON. Bodies are frozen
msgspec structs, one module per concern; `codec` maps frame types to body structs.
"""

PROTOCOL_VERSION = 1
"""Bumped on any incompatible change; the server refuses agents speaking another version."""

SUPPORTED_PROTOCOL_VERSIONS = frozenset({1})
