"""The committable offset never passes a record that is still in flight."""

from snapmode.topologies.offsets import OffsetTracker


def test_commits_below_the_oldest_record_in_flight() -> None:
    tracker = OffsetTracker()
    for offset in (10, 11, 12):
        tracker.taken(0, offset)
    assert tracker.committable() == {0: 10}
    tracker.done(0, 11)
    assert tracker.committable() == {0: 10}  # 10 is still in flight: 11 must be replayed after a crash too
    tracker.done(0, 10)
    assert tracker.committable() == {0: 12}
    tracker.done(0, 12)
    assert tracker.committable() == {0: 13}  # all done: one past the last taken


def test_reports_only_offsets_that_moved() -> None:
    tracker = OffsetTracker()
    tracker.taken(0, 5)
    tracker.committed(tracker.committable())
    assert tracker.committable() == {}
    tracker.done(0, 5)
    assert tracker.committable() == {0: 6}


def test_partitions_are_independent() -> None:
    tracker = OffsetTracker()
    tracker.taken(0, 1)
    tracker.taken(1, 7)
    tracker.done(1, 7)
    assert tracker.committable() == {0: 1, 1: 8}
    assert tracker.in_flight() == 1
