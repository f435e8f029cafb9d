"""Site parsers: pages and API responses to plain records, with no Scrapy in them."""
