# syntax=docker/dockerfile:1
# The S3-compatible service of docker-compose.yml: versitygw (Apache-2.0), serving /data as S3, one folder per
# bucket. The same release `npm run s3` builds natively (src/provision/versitygw.ts), from the Go module proxy.
#   docker build -f docker/versitygw.Dockerfile -t nano-photos-versitygw docker
FROM golang:1.25-bookworm AS build
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOBIN=/out go install github.com/versity/versitygw/cmd/versitygw@v1.8.0

# A static binary; Alpine for busybox's wget, which the health check uses.
FROM alpine:3.22
COPY --from=build /out/versitygw /usr/local/bin/versitygw
RUN adduser -D -H -u 10001 versitygw && mkdir /data && chown versitygw:versitygw /data
USER versitygw
VOLUME /data
EXPOSE 7070
# Root credentials come from ROOT_ACCESS_KEY_ID and ROOT_SECRET_ACCESS_KEY in the environment, never from here.
ENTRYPOINT ["/usr/local/bin/versitygw"]
CMD ["--port", ":7070", "--health", "/health", "posix", "/data"]
