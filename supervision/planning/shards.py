"""A national batch over a registry spread across database nodes (docs/scale.md, "The nation
on Citus").

The registry is distributed by province. A batch confined to a province reads one shard, as
it reads one partition on a single server. A national batch reads every shard: each streams
its eligible entities in USCC order (its own ordered index scan), and the coordinator merges
the ordered streams into the one canonical stream that the freeze writes to ``pool.tsv`` —
the draw protocol never sees shards, and the commitment covers one file, byte for byte the
file one database would have written. The merge holds one record per shard.

Lookups by credit code stay on one shard: a code's characters 3–4 name the province of the
authority that registered it. An entity that later moved to another province keeps its code,
so the router asks a directory of movers (small: a reference table on every node) first.

`bench/simulate_nation.py` runs this over a synthetic national registry in 31 shards and
checks the merged files against a single database's.
"""

import heapq
from collections.abc import Iterable, Iterator, Mapping
from operator import itemgetter

Record = tuple[str, str, str]  # (USCC, STRATUM, UNIT), as the freeze writes pool.tsv


def code_province(uscc: str) -> str:
    """The province of the authority that registered a credit code (GB 32100: positions 3–8
    are its administrative division)."""
    return uscc[2:4]


def shard_of(uscc: str, movers: Mapping[str, str]) -> str:
    """The province (shard) holding the entity with this code: a mover's new province, else
    the code's own."""
    return movers.get(uscc) or code_province(uscc)


def merged_pool(streams: Iterable[Iterable[Record]]) -> Iterator[Record]:
    """One stream in USCC order from shard streams each in USCC order (a k-way merge on the
    code). A shard out of order, or a code on two shards, reaches the freeze's writer out of
    order or twice, and is refused there as from one database."""
    return heapq.merge(*streams, key=itemgetter(0))
