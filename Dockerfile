# Production image: slim base, dependencies from the lock, non-root, migrate then serve.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ENVIRONMENT=production \
    DEMO=0

WORKDIR /srv/jiebang
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
RUN useradd --create-home --uid 10001 jiebang && mkdir -p var && chown jiebang var

USER jiebang
EXPOSE 8000
# SECRET_KEY and DATABASE_URL come from the environment: without SECRET_KEY the app refuses to start.
CMD ["sh", "-c", "alembic upgrade head && python -m app.bootstrap && exec uvicorn app.main:app --host 0.0.0.0 --port 8000 --loop uvloop --http httptools --proxy-headers --no-server-header"]
