"""Real-image development sets (instance retrieval of photographs, one object in two renderings) built from packages."""
