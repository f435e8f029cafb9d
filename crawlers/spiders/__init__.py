"""Spiders, one per source kind: `discuz` and `weibo`."""
