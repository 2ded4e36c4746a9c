"""Each node's log file: ``<log dir>/sim_rank_{rank}.log``, rotated, readable by remote_log."""

from __future__ import annotations

import logging
import os
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_FORMAT = "[%(asctime)s] %(levelname)s rank=%(rank)s %(name)s: %(message)s"
MAX_LOG_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 3


def log_path(log_dir: Path, rank: int) -> Path:
    """Where the node of ``rank`` writes its log."""
    return Path(log_dir) / f"sim_rank_{rank}.log"


class _RankFilter(logging.Filter):
    def __init__(self, rank: int) -> None:
        super().__init__()
        self.rank = rank

    def filter(self, record: logging.LogRecord) -> bool:
        record.rank = self.rank
        return True


def setup_node_logging(log_dir: Path, rank: int, *, echo: bool = True) -> Path:
    """Send the ``evospikenet`` loggers to the node's rotating log file (and stderr if ``echo``).

    The folder is created owner/group-only; the file is rotated at 5 MiB, three backups kept.
    """
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
    path = log_path(log_dir, rank)
    file_handler = RotatingFileHandler(
        path, maxBytes=MAX_LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handlers: list[logging.Handler] = [file_handler]
    if echo:
        handlers.append(logging.StreamHandler(sys.stderr))
    logger = logging.getLogger("evospikenet")
    logger.setLevel(logging.INFO)
    for handler in handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
        handler.addFilter(_RankFilter(rank))
        logger.addHandler(handler)
    os.chmod(path, 0o640)
    return path
