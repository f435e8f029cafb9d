"""Which links on a section page are articles: headline-like text to content-like URLs on the site."""

from __future__ import annotations

import re

from parsel import Selector

from crawlers.links import article_links

SECTION = """<html><body>
<div class="nav"><a href="/">首页</a><a href="/local/">本地新闻频道</a>
<a href="/login.php?next=/">登录后可以评论新闻</a></div>
<ul>
  <li><a href="/local/2026/1128/123456.html">道里区一居民楼发生火灾 无人员伤亡</a></li>
  <li><a href="http://news.example.cn/local/2026/1128/123457.shtml#comments">中央大街今晚二十点起封闭施工</a></li>
  <li><a href="/local/2026/1128/123456.html">道里区一居民楼发生火灾 无人员伤亡（重复链接）</a></li>
  <li><a href="http://evil.example.com/a/999999.html">别的网站上的一条很长的新闻标题</a></li>
  <li><a href="/show.php?id=88">南岗区供暖问题答复（动态页面）</a></li>
  <li><a href="/local/2026/1128/123458.html">短</a></li>
  <li><a href="javascript:void(0)">点击这里查看更多新闻内容</a></li>
</ul></body></html>"""


def test_headline_links_on_the_site_each_once() -> None:
    links = article_links(Selector(text=SECTION), "http://news.example.cn/local/", allowed_domains=["example.cn"])
    assert links == [
        "http://news.example.cn/local/2026/1128/123456.html",
        "http://news.example.cn/local/2026/1128/123457.shtml",
        "http://news.example.cn/show.php?id=88",
    ]


def test_a_site_rule_takes_the_links_it_matches_whatever_their_text() -> None:
    links = article_links(
        Selector(text=SECTION),
        "http://news.example.cn/local/",
        allowed_domains=["example.cn"],
        pattern=re.compile(r"/local/\d{4}/\d{4}/\d+\.html$"),
    )
    assert links == [
        "http://news.example.cn/local/2026/1128/123456.html",
        "http://news.example.cn/local/2026/1128/123458.html",
    ]
