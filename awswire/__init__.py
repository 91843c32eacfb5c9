"""awswire package."""
