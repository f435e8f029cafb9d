"""Schemes on the real NLP stage's output: obfuscated posts are found by plain query words, and the
stage call the pipeline makes (`match_schemes(runtime, analysed)`) fills both stores."""

from __future__ import annotations

from pathlib import Path

from patrol.config import load_settings
from patrol.runtime import Runtime
from patrol.schema import AnalysedPost
from patrol.schemes.context import context_for
from patrol.schemes.live import match_schemes
from patrol.schemes.post_index import posts_matching_scheme
from patrol.schemes.registry import SchemeSpec, add_scheme
from tests.conftest import BASE_TIME, make_post


def test_live_stage_on_analysed_posts(tmp_path: Path) -> None:
    runtime = Runtime(load_settings(data_dir=tmp_path / "data"))
    try:
        posts = [
            make_post("1", "出售仿真枪 支，加V信详聊，香坊可送"),  # split word, obfuscated contact
            make_post("2", "香坊大街燃气泄漏了，大家注意"),
            make_post("3", "南岗燃气公司今天搞泄漏演练"),
        ]
        analysed = [AnalysedPost(post=p, analysis=a) for p, a in zip(posts, runtime.nlp.analyse(posts), strict=True)]
        runtime.store.upsert(analysed)
        context = context_for(runtime.settings)
        with runtime.workflow.session() as session:
            guns = add_scheme(
                session,
                SchemeSpec(name="guns", purpose="枪支买卖", owner="li", query="(枪支 OR 仿真枪) 微信 place:香坊"),
                actor="li",
                context=context,
            )
            gas = add_scheme(
                session,
                SchemeSpec(name="gas", purpose="燃气泄漏", owner="li", query="燃气 NEAR/3 泄漏 NOT 演练"),
                actor="li",
                context=context,
            )
        report = match_schemes(runtime, analysed, now=BASE_TIME)
        assert report.new_by_scheme == {"guns": 1, "gas": 1}
        path = runtime.settings.sqlite_path
        assert [hit.post_id for hit in posts_matching_scheme(path, guns.id).hits] == ["test-forum:1"]
        assert [hit.post_id for hit in posts_matching_scheme(path, gas.id).hits] == ["test-forum:2"]
        assert match_schemes(runtime, analysed, now=BASE_TIME).new_matches == 0
    finally:
        runtime.close()
