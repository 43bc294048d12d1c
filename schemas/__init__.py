"""The contracts: every Kafka message and HTTP body as a pydantic model, the topic registry and
the message envelope. Services share only this package and servicekit."""
