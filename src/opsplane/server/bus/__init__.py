"""Message bus between the server's parts: LocalBus in one process, NatsBus across processes."""
