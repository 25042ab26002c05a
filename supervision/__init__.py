"""双随机、一公开 supervision scheduler: the domain core (no HTTP, HTML or PDF here)."""
