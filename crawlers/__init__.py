"""Crawl fashion shops with Scrapy and publish what they sell as `ProductRecord`s."""
