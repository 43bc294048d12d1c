"""A minimal service built only on servicekit, used to prove the platform's guarantees.

Role `bank` consumes deposits from DEMO_IN, adds them to an account and emits `Deposited` to
DEMO_OUT in the same transaction; role `ledger` consumes DEMO_OUT and records each entry.
Topics come from the environment so every test gets its own. The bank also sweeps its `due`
collection the naive way (read, pause DEMO_SWEEP_PAUSE seconds, write without a condition),
so only a lease keeps two replicas from both applying an item.
"""

from __future__ import annotations

import asyncio
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

        pause = float(os.environ.get("DEMO_SWEEP_PAUSE", "0"))

        @service.loop
        async def settle_due(_: Service) -> None:
            while True:
                for item in await service.db.due.find({"done": False}).to_list():
                    await asyncio.sleep(pause)
                    await service.db.due.update_one(
                        {"_id": item["_id"]},
                        {"$inc": {"applied": 1}, "$set": {"done": True, "by": service.replica}},
                    )
                await asyncio.sleep(0.1)

    else:

        @service.subscribe(deposited, Deposited)
        async def on_deposited(msg: Deposited, tx: Tx) -> None:
            await tx.db.ledger.insert_one(
                {"accountId": msg.accountId, "amount": msg.amount}, session=tx.session
            )

    return service


if __name__ == "__main__":
    run(build)
