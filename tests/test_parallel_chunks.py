"""parallel._policy_chunks: the redlines sent to the workers, in chunks that follow a policy's
versions (a chunk shares its parsed pieces; each key must get its own pair's redline back)."""

from __future__ import annotations

from legalsite.parallel import _policy_chunks


def versions(policy: str, count: int) -> list[tuple[str, tuple[str, str]]]:
    """(key, (old body, new body)) of a policy's consecutive redlines."""
    return [(f"{policy}{i}", (f"{policy}-v{i}", f"{policy}-v{i + 1}")) for i in range(count)]


def test_chunks_follow_policies_and_keep_every_item_in_order():
    todo = versions("a", 5) + versions("b", 2) + versions("c", 1) + versions("d", 3)
    chunks = _policy_chunks(todo, 3)
    assert [[key for key, _pair in chunk] for chunk in chunks] == [
        ["a0", "a1", "a2"],  # cut inside a policy at the size
        ["a3", "a4"],  # and where the next pair's old body is another policy's
        ["b0", "b1"],
        ["c0"],
        ["d0", "d1", "d2"],
    ]
    assert [item for chunk in chunks for item in chunk] == todo


def test_a_gap_in_a_policys_versions_starts_a_chunk():
    todo = versions("a", 4)
    del todo[1]  # a redline the store already has: a2's old body is not a0's new body
    assert [[key for key, _pair in chunk] for chunk in _policy_chunks(todo, 10)] == [
        ["a0"],
        ["a2", "a3"],
    ]
    assert _policy_chunks([], 4) == []


def test_compare_pairs_stay_in_their_policys_chunks():
    """Found in review: cutting wherever a pair's old body was not the last pair's new body put
    each compare pair ((0, 2), (0, 3), ...) in a chunk of its own (1,177 chunks for one policy
    of 50 versions, 2.4 times the redlines' CPU on 1 x 20)."""
    bodies = [f"a-v{i}" for i in range(6)] + [f"b-v{i}" for i in range(3)]
    pairs = [(old, new) for policy in "ab" for old in bodies for new in bodies
             if old[0] == new[0] == policy and old < new]
    todo = [(f"{old}>{new}", (old, new)) for old, new in pairs]
    chunks = _policy_chunks(todo, 100)
    assert [len(chunk) for chunk in chunks] == [15, 3]
    assert [item for chunk in chunks for item in chunk] == todo
    small = _policy_chunks(todo, 4)
    assert max(len(chunk) for chunk in small) == 4 and len(small) < len(todo) / 2
    assert all(len({old[0] for _key, (old, _new) in chunk}) == 1 for chunk in small)
