"""Monitoring schemes (监测方案): saved boolean queries with a purpose, matched live, alerting subscribers.

- `query`: the query language (parser, syntax tree, `QueryError` with column and caret);
- `context`, `document`, `matcher`: one Aho-Corasick pass over all schemes' words, then the
  boolean structure of the schemes whose positive words were found;
- `models`, `registry`: schemes in the workflow database, every change audited;
- `live`: the pipeline stage `match_schemes(runtime, analysed)`;
- `alerts`, `quiet_hours`: real-time, digest and spike alerts through the workflow outbox;
- `post_index`: the post store's `post_scheme_matches` and `posts_matching_scheme`;
- `backtest`: what a query would have found in the last N days.

Schemes never open review items: risk comes from the risk stage.
"""
