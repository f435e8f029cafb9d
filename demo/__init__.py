"""The bundled demo site: a small local forum and weibo-style API that look like the places the
patrol crawls, with generated Chinese content and ground truth for every post.

    from demo import DemoSite
    with DemoSite(seed=7, threads=60) as site:
        print(site.base_url)
"""

from demo.content import DemoContent
from demo.model import PostTruth
from demo.server import DemoSite

__all__ = ["DemoContent", "DemoSite", "PostTruth"]
