"""The queue: Kafka clients, the in-memory queue of embedded mode, dead letters (written and read), backlog."""
