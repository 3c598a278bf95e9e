"""One router per resource: search, products, images, health."""
