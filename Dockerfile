# One image for every sagashop service: `python -m <package>` picks the service (see compose.yaml).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY servicekit ./servicekit
COPY launcher ./launcher
COPY orchestra ./orchestra
COPY order_svc ./order_svc
COPY store_svc ./store_svc
COPY payment_svc ./payment_svc
COPY delivery_svc ./delivery_svc
COPY billing_svc ./billing_svc
COPY notification_svc ./notification_svc
COPY auth_svc ./auth_svc
COPY web_front ./web_front

RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin sagashop

USER sagashop

EXPOSE 8080
