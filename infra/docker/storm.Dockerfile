# Storm nimbus/supervisor with SnapMode installed, so the Python bolts run inside the supervisor containers.
FROM storm:2.8.3
USER root
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv && rm -rf /var/lib/apt/lists/*
COPY . /opt/snapmode-src
RUN python3 -m venv /opt/snapmode && /opt/snapmode/bin/pip install -q "setuptools<81" wheel \
    && /opt/snapmode/bin/pip install -q "/opt/snapmode-src[cluster]"
USER storm
