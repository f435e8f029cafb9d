# Images for docker-compose.yml:
#   target `console`: the patrol console and CLI (python slim + the package)
#   target `airflow`: the official Airflow image + the package, for the api-server, scheduler (which
#                     runs the tasks with the LocalExecutor), dag-processor and triggerer
#
#   docker build --target console -t opinion-patrol .
#
# The package is installed editable from /opt/patrol so that es_mappings/ and dags/ stay next to it.
# Source folders are copied one by one: the build never picks up .venv, data/ or a local .env.

ARG PYTHON_VERSION=3.11
ARG AIRFLOW_VERSION=3.3.2

FROM python:${PYTHON_VERSION}-slim-bookworm AS console
# The CPU build of PyTorch: a plain `torch` pulls several GB of CUDA libraries.
ARG TORCH_SPEC="torch==2.13.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATROL_DATA_DIR=/data
# Pango for PDF reports (weasyprint), CJK fonts so Chinese text renders in them.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
# uid 50000, gid 0: the same owner as the Airflow image, so both write the shared /data volume.
RUN useradd --uid 50000 --gid 0 --create-home patrol \
    && mkdir -p /data /opt/patrol && chown 50000:0 /data /opt/patrol
WORKDIR /opt/patrol
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu "${TORCH_SPEC}"
COPY --chown=50000:0 pyproject.toml README.md scrapy.cfg ./
COPY --chown=50000:0 patrol/ patrol/
COPY --chown=50000:0 nlp/ nlp/
COPY --chown=50000:0 crawlers/ crawlers/
COPY --chown=50000:0 demo/ demo/
COPY --chown=50000:0 dags/ dags/
COPY --chown=50000:0 es_mappings/ es_mappings/
RUN pip install -e .
USER 50000
VOLUME ["/data"]
EXPOSE 8000
CMD ["patrol", "serve", "--host", "0.0.0.0", "--port", "8000"]


FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION} AS airflow
ARG AIRFLOW_VERSION
ARG TORCH_SPEC="torch==2.13.0"
ENV PATROL_DATA_DIR=/data
USER root
RUN mkdir -p /data /opt/patrol && chown airflow:root /data /opt/patrol
USER airflow
WORKDIR /opt/patrol
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu "${TORCH_SPEC}"
COPY --chown=airflow:root pyproject.toml README.md scrapy.cfg ./
COPY --chown=airflow:root patrol/ patrol/
COPY --chown=airflow:root nlp/ nlp/
COPY --chown=airflow:root crawlers/ crawlers/
COPY --chown=airflow:root demo/ demo/
COPY --chown=airflow:root dags/ dags/
COPY --chown=airflow:root es_mappings/ es_mappings/
# Pinning apache-airflow keeps pip from up- or downgrading the Airflow the image was built with.
RUN pip install --no-cache-dir -e . "apache-airflow==${AIRFLOW_VERSION}"
WORKDIR /opt/airflow
