"""Benchmarks that print figures: embedding, ingestion through Storm, queries, hybrid ranking."""
