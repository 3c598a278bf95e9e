"""One module per service of the native cluster: its processes, its config files and its health probe."""
