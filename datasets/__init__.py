"""Data sets made by the project: the generated sample catalog, real-image sets from packages, shop galleries."""
