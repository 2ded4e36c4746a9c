"""One router per API area: health, generate, distributed_brain, sessions, artifacts."""
