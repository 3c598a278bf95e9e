"""Downloader middlewares that keep the crawler safe: address policy and bounded redirects."""
