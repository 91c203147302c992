"""The scaled topology: the same stages as separate roles on NATS JetStream, PostgreSQL
and Redis (docs/scaling.md)."""
