"""What spiders yield.

- `patrol.schema.Post`: one public post (a forum floor, a weibo, a comment), exactly the model the
  rest of the pipeline reads, so nothing is converted twice.
- `crawlers.state.StateUpdate`: a change to the source's incremental state, yielded after the posts
  it covers; the landing pipeline applies it once those posts are safely on disk.
"""

from __future__ import annotations

from crawlers.state import StateUpdate
from patrol.schema import Post

CrawlItem = Post | StateUpdate

__all__ = ["CrawlItem", "Post", "StateUpdate"]
