"""Self-written Chinese text the demo site is generated from: everyday local life, risky posts in
every category, benign near-misses, and the weibo accounts."""
