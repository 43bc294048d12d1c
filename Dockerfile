# One image for every sagashop service: `python -m <package>` picks the service (see compose.yaml).
# The dependencies are installed first, from the lock's exact files and hashes
# (requirements/service.txt: what a service imports; no embedded server, trial or test tool), so
# a change of the source rebuilds only the layers after them. `make lock` writes the lock.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin sagashop

COPY requirements/service.txt ./requirements/service.txt
RUN pip install --require-hashes -r requirements/service.txt

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

# the project itself, its dependencies already in place
RUN pip install --no-deps .

USER sagashop

EXPOSE 8080
