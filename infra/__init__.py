"""The native cluster: real Kafka, Storm, Solr, Milvus and Redis processes on loopback, started by the project."""
