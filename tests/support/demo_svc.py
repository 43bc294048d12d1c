"""A minimal service built only on servicekit, used to prove the platform's guarantees.

Role `bank` consumes deposits from DEMO_IN, adds them to an account and emits `Deposited` to
DEMO_OUT in the same transaction; role `ledger` consumes DEMO_OUT and records each entry.
Topics come from the environment so every test gets its own.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field
from pymongo.asynchronous.client_session import AsyncClientSession

from schemas.topics import Topic
from servicekit.errors import StaleWrite
from servicekit.runner import run
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from servicekit.unit import Tx, find_by_id, preload, remember


class Deposit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accountId: str = Field(min_length=1)
    amount: int = Field(ge=1)


class Deposited(Deposit):
    pass


def topics() -> tuple[Topic, Topic]:
    make = lambda name: Topic(name, "accountId", "demo", ("demo",), "test topic")  # noqa: E731
    return make(os.environ["DEMO_IN"]), make(os.environ["DEMO_OUT"])


def build() -> Service:
    settings = ServiceSettings()
    service = Service(settings)
    deposits, deposited = topics()
    role = os.environ.get("DEMO_ROLE", "bank")

    if role == "bank":
        accounts = service.db.accounts

        async def load(messages: list[Deposit], session: AsyncClientSession) -> None:
            await preload(accounts, [m.accountId for m in messages], session)

        @service.subscribe(deposits, Deposit, load)
        async def on_deposit(msg: Deposit, tx: Tx) -> None:
            # read, then write only if nobody wrote since (as the real services do): a stale
            # read in a batch fails the write and sends the batch down the one-by-one path
            account = await find_by_id(accounts, msg.accountId, tx.session)
            if account is None:
                account = {"_id": msg.accountId, "balance": msg.amount, "version": 0}
                await accounts.insert_one(account, session=tx.session)
            else:
                done = await accounts.update_one(
                    {"_id": msg.accountId, "version": account["version"]},
                    {"$inc": {"balance": msg.amount, "version": 1}},
                    session=tx.session,
                )
                if done.modified_count != 1:
                    raise StaleWrite(f"account {msg.accountId} changed")
                account = {
                    **account,
                    "balance": account["balance"] + msg.amount,
                    "version": account["version"] + 1,
                }
            remember(accounts, account)
            tx.emit(deposited, Deposited(**msg.model_dump()), key=msg.accountId)

    else:

        @service.subscribe(deposited, Deposited)
        async def on_deposited(msg: Deposited, tx: Tx) -> None:
            await tx.db.ledger.insert_one(
                {"accountId": msg.accountId, "amount": msg.amount}, session=tx.session
            )

    return service


if __name__ == "__main__":
    run(build)
