"""Live updates for the browser over one WebSocket, throttled per topic."""
