"""The Storm ingestion topology: Kafka spout -> fetch -> embed -> Milvus and Solr writers, plus dead letters."""
