# The SnapMode application image: API, ingest/crawl jobs, and the Python side of the Storm bolts.
FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 SNAPMODE_DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY snapmode snapmode
COPY model model
COPY services services
COPY topologies topologies
COPY crawlers crawlers
COPY infra infra
RUN pip install -q "setuptools<81" wheel && pip install -q ".[cluster,crawl]"
RUN useradd --create-home snapmode && mkdir -p /data && chown snapmode /data
USER snapmode
EXPOSE 8000
CMD ["snapmode", "serve", "--host", "0.0.0.0"]
