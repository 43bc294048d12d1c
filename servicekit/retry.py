"""Bounded tenacity retry policies, only for transient errors."""

from __future__ import annotations

import aiohttp
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
    WTimeoutError,
)
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from servicekit.errors import StaleWrite

TRANSIENT_LABELS = ("TransientTransactionError", "UnknownTransactionCommitResult")


def is_db_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached or does not answer in time (it is down, restarting or
    overloaded): wait for it, never dead-letter a message for this."""
    if isinstance(exc, ConnectionFailure | ServerSelectionTimeoutError | NetworkTimeout):
        return True
    return isinstance(exc, PyMongoError) and exc.timeout


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: network, failover, write conflicts, a neighbour's 5xx."""
    if is_db_unavailable(exc) or isinstance(exc, AutoReconnect | WTimeoutError | StaleWrite):
        return True
    if isinstance(exc, PyMongoError) and any(exc.has_error_label(x) for x in TRANSIENT_LABELS):
        return True
    if isinstance(exc, OperationFailure) and exc.code in (112, 251):  # WriteConflict, NoSuchTxn
        return True
    if isinstance(exc, KafkaConnectionError | KafkaTimeoutError):
        return True
    if isinstance(exc, aiohttp.ClientResponseError):
        return exc.status >= 500
    return isinstance(exc, aiohttp.ClientConnectionError | TimeoutError)


def transient_retry(attempts: int = 5, max_delay: float = 10.0) -> AsyncRetrying:
    """Exponential backoff with jitter, bounded in attempts and total time."""
    return AsyncRetrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(attempts) | stop_after_delay(max_delay),
        wait=wait_exponential_jitter(multiplier=0.05, max=2.0),
        reraise=True,
    )
