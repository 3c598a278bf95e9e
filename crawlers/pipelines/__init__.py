"""Item pipelines: validate into `ProductRecord`, drop unchanged products, send to the configured sink."""
