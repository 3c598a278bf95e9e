# The one SnapMode application image: the API, the init/topology/crawler jobs and the Storm supervisor, whose worker
# runs the Python bolts from this image's virtualenv. Storm and a Java runtime come from their official images.
ARG STORM_VERSION=2.8.3
FROM storm:${STORM_VERSION} AS storm
FROM eclipse-temurin:17-jre-jammy AS jre

FROM python:3.11-slim-bookworm
ARG STORM_VERSION
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 SNAPMODE_DATA_DIR=/data \
    JAVA_HOME=/opt/java/openjdk STORM_HOME=/opt/storm \
    PATH=/opt/venv/bin:/opt/storm/bin:/opt/java/openjdk/bin:$PATH
RUN useradd --create-home --uid 1000 snapmode && mkdir -p /data && chown snapmode /data
COPY --from=jre /opt/java/openjdk /opt/java/openjdk
COPY --from=storm --chown=snapmode /apache-storm-${STORM_VERSION} /opt/storm
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY snapmode snapmode
COPY model model
COPY services services
COPY topologies topologies
COPY crawlers crawlers
COPY infra infra
COPY search search
COPY datasets datasets
COPY bench bench
RUN python -m venv /opt/venv && pip install -q "setuptools<81" wheel && pip install -q ".[services]"
USER snapmode
EXPOSE 8000
CMD ["snapmode", "serve", "--host", "0.0.0.0"]
