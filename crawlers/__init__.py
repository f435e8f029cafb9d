"""The Scrapy project: spiders for Discuz! forums and weibo-style JSON APIs, landing batches, crawl state.

Run one source per process (`crawlers.run.run_crawl`): a Twisted reactor cannot restart inside one
Python process.
"""
