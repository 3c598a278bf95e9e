"""The spiders: one generic product spider that every site config drives."""
