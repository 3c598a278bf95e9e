"""Vector and metadata stores: embedded (milvus-lite, SQLite) and real (Milvus, Solr) behind one interface."""
