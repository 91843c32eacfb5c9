"""The contract between the planes: entities, change events, the fold, the Redis log, delays."""
