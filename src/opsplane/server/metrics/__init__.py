"""Host and application metrics."""
