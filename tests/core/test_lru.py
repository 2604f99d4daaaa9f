"""The shared bounded LRU cache (regio.core.lru)."""

from regio.core.lru import BoundedCache


def test_least_recently_used_dropped_first_by_weight():
    cache = BoundedCache(10, weigh=len)
    cache.put("a", "xxxx")
    cache.put("b", "xxxx")
    assert cache.get("a") == "xxxx"  # "a" is now the most recent
    cache.put("c", "xxxx")  # 12 > 10: the least recently used ("b") goes
    assert cache.get("b") is None and cache.get("a") == "xxxx" and cache.get("c") == "xxxx"
    cache.put("a", "x")  # replaced, weight recounted
    cache.put("d", "xxxxx")
    assert (cache.get("a"), cache.get("c"), cache.get("d")) == ("x", "xxxx", "xxxxx")
    assert cache.hits == 6 and cache.misses == 1


def test_too_heavy_or_switched_off_not_kept_and_bound_read_each_time():
    bound = {"value": 3}
    cache = BoundedCache(lambda: bound["value"], weigh=len)
    cache.put("big", "xxxx")
    assert cache.get("big") is None and len(cache) == 0
    bound["value"] = 0
    cache.put("one", "")
    assert cache.get("one") == ""  # weight 0 fits a bound of 0
    cache.put("two", "x")
    assert cache.get("two") is None


def test_time_to_live_and_get_or_build():
    cache = BoundedCache(5, ttl_s=60)
    built = []
    assert cache.get_or_build("k", lambda: built.append(1) or "v") == "v"
    assert cache.get_or_build("k", lambda: built.append(1) or "w") == "v" and len(built) == 1
    cache.ttl_s = 0  # expired: built again
    assert cache.get_or_build("k", lambda: built.append(1) or "w") == "w" and len(built) == 2
    cache.get_or_build("none", lambda: None)  # None is a value like another
    cache.ttl_s = 60
    assert cache.get("none", "absent") is None
    cache.clear()
    assert len(cache) == 0 and cache.hits == cache.misses == 0
