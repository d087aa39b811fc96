"""The opsplane control plane (install with `opsplane[server]`)."""
