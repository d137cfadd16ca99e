"""A reader that legitimately needs more memory than one file's usual bound asks for it here.

Worker processes run under a soft address-space bound (archive.ingest.prepare.init_worker) so a hostile
file fails alone. OCR's neural networks map about 1 GB of address space that stays mapped while the
worker lives (lowering the bound under it again would make every later allocation fail), so loading
them raises the worker's soft bound once, by that much; the hard bound never moves.
"""

from __future__ import annotations

import resource


def raise_bound(extra_bytes: int) -> None:
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return
        raised = soft + extra_bytes if hard == resource.RLIM_INFINITY else min(hard, soft + extra_bytes)
        resource.setrlimit(resource.RLIMIT_AS, (raised, hard))
    except (ValueError, OSError):
        pass  # no bound to raise on this system
