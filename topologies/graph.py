"""The ingestion topology as a graph, with each component's parallelism and the topology config from settings."""

from __future__ import annotations

from typing import Any

from streamparse import Grouping, Topology

from snapmode.config import Settings
from snapmode.topologies.component import SETTINGS_KEY
from snapmode.topologies.deadletter import DeadLetterBolt
from snapmode.topologies.embed import EmbedBolt
from snapmode.topologies.deletions import DeletionBolt
from snapmode.topologies.fetch import DELETED, REJECTED, RETRY, FetchBolt
from snapmode.topologies.handoff import is_local
from snapmode.topologies.reschedule import RescheduleBolt
from snapmode.topologies.retry_spout import KafkaRetrySpout
from snapmode.topologies.spout import EXHAUSTED, KafkaRecordSpout
from snapmode.topologies.writers import REFUSED, MetadataWriterBolt, VectorWriterBolt

SUBPROCESS_TIMEOUT_S = 300  # a Python component may take this long to answer (loading a model, a big batch)
# How long an idle executor sleeps between looks at its queue. Storm's 1 ms (after 1,000 short parks) wakes every
# executor a thousand times a second, idle or not: with a dozen executors in one worker JVM that is a sixth of a core
# while nothing flows. 10 ms cuts that ten-fold and adds at most 10 ms per hop to a tuple that finds its bolt idle.
IDLE_SLEEP_MS = 10
IDLE_PARKS = 10  # short parks before the sleep (Storm's 1,000 take about 50 ms of a core after each burst)


def topology_config(settings: Settings) -> dict[str, Any]:
    """Storm config of the topology; the settings travel in it so every component reads the same values."""
    return {
        SETTINGS_KEY: settings.shareable(),
        "topology.workers": settings.topology_workers,
        "topology.max.spout.pending": settings.max_spout_pending,
        "topology.message.timeout.secs": settings.message_timeout_s,
        "topology.subprocess.timeout.secs": SUBPROCESS_TIMEOUT_S,
        "topology.stats.sample.rate": 1.0,  # exact counters in `snapmode topology status` ...
        "executor.metrics.frequency.secs": 10,  # ... at most this old
        "topology.spout.wait.progressive.level3.sleep.millis": IDLE_SLEEP_MS,
        "topology.bolt.wait.progressive.level2.count": IDLE_PARKS,
        "topology.bolt.wait.progressive.level3.sleep.millis": IDLE_SLEEP_MS,
    }


def build_topology(settings: Settings) -> type[Topology]:
    """The topology class for `sparse submit`: spouts (records, and retries when due) -> fetch -> embed -> {vector,
    metadata} writers, grouped by product key; records to try again later -> the retry topic; tombstones ->
    deletions; rejections, refused rows and records that failed too often -> dead letters."""
    tick = {"topology.tick.tuple.freq.secs": settings.batch_wait_s}
    # an image handed off through a file is read by an embed task of the same worker, on the same host
    to_embed = Grouping.LOCAL_OR_SHUFFLE if is_local(settings) else Grouping.SHUFFLE

    class IngestTopology(Topology):
        config = topology_config(settings)
        records = KafkaRecordSpout.spec(par=settings.spout_parallelism)
        retries = KafkaRetrySpout.spec(par=settings.spout_parallelism)
        fetch = FetchBolt.spec(inputs={records["default"]: Grouping.SHUFFLE, retries["default"]: Grouping.SHUFFLE},
                               par=settings.fetch_parallelism)
        reschedule = RescheduleBolt.spec(inputs={fetch[RETRY]: Grouping.SHUFFLE})
        embed = EmbedBolt.spec(inputs={fetch["default"]: to_embed}, par=settings.embed_parallelism,
                               config=tick)
        vectors = VectorWriterBolt.spec(inputs={embed["default"]: Grouping.fields("product_key")},
                                        par=settings.writer_parallelism, config=tick)
        metadata = MetadataWriterBolt.spec(inputs={embed["default"]: Grouping.fields("product_key")},
                                           par=settings.writer_parallelism, config=tick)
        deletions = DeletionBolt.spec(inputs={fetch[DELETED]: Grouping.fields("key")}, par=settings.writer_parallelism)
        dead_letters = DeadLetterBolt.spec(inputs={fetch[REJECTED]: Grouping.SHUFFLE,
                                                   records[EXHAUSTED]: Grouping.SHUFFLE,
                                                   retries[EXHAUSTED]: Grouping.SHUFFLE,
                                                   vectors[REFUSED]: Grouping.SHUFFLE,
                                                   metadata[REFUSED]: Grouping.SHUFFLE,
                                                   deletions[REFUSED]: Grouping.SHUFFLE})

    return IngestTopology
